"""Images per second of our batched corruptions against the `imagecorruptions` package.

    pip install -e .[bench]          # imagecorruptions==1.1.2, setuptools<81, scipy, scikit-image, opencv
    python benchmarks/bench_corruptions.py [--images 2000] [--reference-images 100] [--threads 1]

Both sides corrupt the same 32×32 colour images at each of the 5 severities in the same run;
the table gives images/s per corruption (mean over severities) and the ratio. imagecorruptions
applies the 224-px ImageNet-C tables at every size (we apply the CIFAR-10-C table), so the
work per image is comparable, not identical. Its `fog` and `glass_blur` fail on NumPy 2
(`np.float_`, skimage's removed `multichannel`): the benchmark shims both so all 15 can be
timed, and reports the ratio over the 13 unshimmed ones too. Then our MNIST-C suite on the
embedded Fashion-MNIST test set (2000 images).
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine.corruptions import get_suite  # noqa: E402

SHIMMED = ("glass_blur", "fog")


def natural_images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    """Smooth colour images with texture and a sharp-edged object (no dataset needed)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.nn.functional.interpolate(torch.rand(n, 3, 4, 4, generator=g), size=size, mode="bicubic")
    mid = torch.nn.functional.interpolate(torch.rand(n, 3, size // 4, size // 4, generator=g), size=size,
                                          mode="bilinear")
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    cx, cy, r = torch.rand(3, n, 1, 1, generator=g) * torch.tensor([size, size, size / 3]).view(3, 1, 1, 1)
    disk = (((xx - cx) ** 2 + (yy - cy) ** 2) < (r + size / 8) ** 2).float().unsqueeze(1)
    x = (0.55 * low + 0.25 * mid) * (1 - disk) + disk * (0.6 * torch.rand(n, 3, 1, 1, generator=g) + 0.2 * mid)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def load_reference():
    """imagecorruptions with the two NumPy-2 shims, or None when it is not installed."""
    warnings.filterwarnings("ignore")
    if not hasattr(np, "float_"):
        np.float_ = np.float64  # imagecorruptions' plasma_fractal (fog)
    try:
        import imagecorruptions
        import imagecorruptions.corruptions as ic
    except ImportError:
        return None
    original = ic.gaussian

    def gaussian(image, sigma=1, multichannel=None, **kwargs):  # skimage ≥0.19 renamed it channel_axis
        if multichannel:
            kwargs["channel_axis"] = -1
        return original(image, sigma=sigma, **kwargs)

    ic.gaussian = gaussian
    return imagecorruptions.corrupt


def time_ours(suite, name, images, severities, repeat=1):
    suite.apply(name, images[:8], 1, 0)  # warm-up: kernels, masks, textures are built once
    start = time.perf_counter()
    for _ in range(repeat):
        for s in severities:
            suite.apply(name, images, s, s)
    return (time.perf_counter() - start) / (repeat * len(severities))


def time_reference(corrupt, name, images, severities):
    hwc = [img.permute(1, 2, 0).numpy() for img in images]
    corrupt(hwc[0], corruption_name=name, severity=1)
    start = time.perf_counter()
    for s in severities:
        for img in hwc:
            corrupt(img, corruption_name=name, severity=s)
    return (time.perf_counter() - start) / len(severities)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000, help="images per severity for our implementation")
    parser.add_argument("--reference-images", type=int, default=100, help="images per severity for imagecorruptions")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (imagecorruptions: 1 core)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    suite = get_suite("imagenet-c")
    images = natural_images(args.images, 32)
    corrupt = load_reference()
    severities = range(1, 6)
    print(f"imagenet-c, CIFAR-10-C table, 32×32 RGB, severities 1–5, torch threads {torch.get_num_threads()}")
    print(f"{'corruption':<20}{'ours img/s':>12}{'imagecorruptions img/s':>25}{'speed-up':>10}")
    total_ours = total_ref = total_ours13 = total_ref13 = 0.0
    for name in suite.corruptions:
        per_image_ours = time_ours(suite, name, images, severities) / len(images)
        total_ours += per_image_ours
        line = f"{name:<20}{1 / per_image_ours:>12,.0f}"
        if corrupt is not None:
            per_image_ref = time_reference(corrupt, name, images[: args.reference_images], severities) / args.reference_images
            total_ref += per_image_ref
            if name not in SHIMMED:
                total_ours13 += per_image_ours
                total_ref13 += per_image_ref
            mark = " (shimmed)" if name in SHIMMED else ""
            line += f"{1 / per_image_ref:>25,.0f}{per_image_ref / per_image_ours:>9.1f}×{mark}"
        print(line)
    print(f"{'whole suite (15)':<20}{1 / total_ours:>12,.0f}", end="")
    if corrupt is not None:
        print(f"{1 / total_ref:>25,.1f}{total_ref / total_ours:>9.1f}×")
        print(f"{'13 unshimmed':<20}{1 / total_ours13:>12,.0f}{1 / total_ref13:>25,.1f}{total_ref13 / total_ours13:>9.1f}×")
        print(f"imagecorruptions: {total_ref13 * 1000:.1f} ms per image for one pass over its 13 working corruptions")
    else:
        print("\n(imagecorruptions is not installed: pip install -e .[bench] for the comparison)")

    from app.engine.data import load_dataset

    digits = load_dataset("embedded").test_x
    mnist = get_suite("mnist-c")
    print(f"\nmnist-c, embedded Fashion-MNIST test set ({len(digits)} images, 28×28 gray)")
    total = 0.0
    for name in mnist.corruptions:
        seconds = time_ours(mnist, name, digits, [1])
        total += seconds
        print(f"{name:<20}{len(digits) / seconds:>12,.0f} img/s")
    print(f"{'whole suite (15)':<20}{len(digits) / total:>12,.0f} img/s  ({total:.2f} s for the 15 corruptions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
