"""Cross-checks of the batched torch corruptions against the reference libraries.

The reference generators use scipy, scikit-image, OpenCV and Pillow; these are
benchmark-only dependencies (`pip install -e .[bench]`), so this file is skipped where
they are missing. Only the deterministic parts are compared (random draws differ by design).
"""

import math

import numpy as np
import pytest
import torch

ndi = pytest.importorskip("scipy.ndimage")
skimage = pytest.importorskip("skimage")
cv2 = pytest.importorskip("cv2")
from PIL import Image  # noqa: E402
from skimage import color, feature, transform  # noqa: E402

from app.engine.corruptions import blur, digital, geometric, ops  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def smooth_images(n=6, size=32, channels=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, channels, size // 4, size // 4, generator=g)
    return torch.nn.functional.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def u8(x):
    return np.round(np.clip(x, 0, 1) * 255)


@pytest.mark.parametrize("mode", ["nearest", "reflect", "mirror", "constant"])
@pytest.mark.parametrize("sigma", [0.4, 1.0, 6.4])
def test_gaussian_filter_matches_scipy(mode, sigma):
    x = torch.rand(2, 3, 32, 32, dtype=torch.float32)
    ours = ops.gaussian_filter(x, sigma, mode).numpy()
    ref = ndi.gaussian_filter(x.numpy().astype(np.float64), sigma=(0, 0, sigma, sigma), mode=mode)
    assert np.abs(ours - ref).max() < 1e-5


def test_defocus_blur_matches_opencv():
    x = smooth_images()
    for radius, alias in [(0.3, 0.4), (1, 0.2), (1.5, 0.1), (3, 0.1)]:
        ours = blur.defocus_blur(x, (radius, alias), None).numpy()
        # the reference `disk` + cv2.filter2D per channel
        L = np.arange(-8, 9)
        X, Y = np.meshgrid(L, L)
        disk = np.array((X ** 2 + Y ** 2) <= radius ** 2, dtype=np.float32)
        disk /= disk.sum()
        kernel = cv2.GaussianBlur(disk, ksize=(3, 3), sigmaX=alias)
        for i in range(len(x)):
            ref = np.stack([cv2.filter2D(x[i, c].numpy(), -1, kernel) for c in range(3)])
            assert np.abs(u8(ours[i]) - u8(ref)).max() <= 1


def test_zoom_blur_matches_scipy_zoom():
    x = smooth_images(size=32)
    factors = blur.zoom_factors(1.26)
    ours = blur.zoom_blur(x, factors, None).numpy()
    for i in range(len(x)):
        img = x[i].permute(1, 2, 0).numpy()
        out = np.zeros_like(img)
        for z in factors:  # the reference clipped_zoom
            h = img.shape[0]
            ch = int(np.ceil(h / z))
            top = (h - ch) // 2
            zoomed = ndi.zoom(img[top:top + ch, top:top + ch], (z, z, 1), order=1)
            trim = (zoomed.shape[0] - h) // 2
            out += zoomed[trim:trim + h, trim:trim + h]
        ref = (img + out) / (len(factors) + 1)
        assert np.abs(u8(ours[i].transpose(1, 2, 0)) - u8(ref)).max() <= 1


def test_motion_blur_matches_imagemagick_port():
    corruptions = pytest.importorskip("imagecorruptions.corruptions")
    x = smooth_images()
    angles = torch.tensor([-45.0, -20.0, 0.0, 13.0, 30.0, 44.9], dtype=torch.float64)
    ours = ops.motion_blur(x, 6, 2, angles).numpy()
    for i in range(len(x)):
        ref = corruptions._motion_blur(x[i].permute(1, 2, 0).numpy(), 6, 2, float(angles[i]))
        assert np.abs(ours[i].transpose(1, 2, 0) - ref).max() < 1e-4


def test_brightness_matches_skimage_hsv():
    x = smooth_images()
    x[0, :, :4, :4] = 0  # black pixels: zero saturation in HSV
    for amount in (0.05, 0.3, 0.5):
        ours = digital.brightness(x, amount, None).numpy()
        for i in range(len(x)):
            hsv = color.rgb2hsv(x[i].permute(1, 2, 0).numpy().astype(np.float64))
            hsv[..., 2] = np.clip(hsv[..., 2] + amount, 0, 1)
            ref = color.hsv2rgb(hsv)
            assert np.abs(ours[i].transpose(1, 2, 0) - ref).max() < 1e-5


def test_pixelate_matches_pil_box():
    x = torch.round(smooth_images(size=32) * 255) / 255
    for factor in (0.95, 0.75, 0.65):
        ours = np.round(digital.pixelate(x, factor, None).numpy() * 255)
        for i in range(len(x)):
            im = Image.fromarray(np.uint8(np.round(x[i].permute(1, 2, 0).numpy() * 255)))
            small = int(32 * factor)
            ref = np.asarray(im.resize((small, small), Image.BOX).resize((32, 32), Image.BOX), dtype=np.float64)
            assert np.abs(ours[i].transpose(1, 2, 0) - ref).max() <= 1


def test_jpeg_close_to_pil():
    x = torch.round(smooth_images(size=32) * 255) / 255
    ours = np.round(digital.jpeg(x, 50, None).numpy() * 255)
    for i in range(len(x)):
        import io

        buf = io.BytesIO()
        Image.fromarray(np.uint8(np.round(x[i].permute(1, 2, 0).numpy() * 255))).save(buf, "JPEG", quality=50)
        ref = np.asarray(Image.open(buf), dtype=np.float64)
        assert np.abs(ours[i].transpose(1, 2, 0) - ref).mean() < 1.0


def test_canny_matches_skimage():
    from app.engine.data import load_dataset

    x = load_dataset("embedded").test_x[:50].float() / 255
    ours = digital.canny_edges(x, None).numpy()[:, 0] > 0.5
    ref = np.stack([feature.canny(img) for img in x[:, 0].numpy().astype(np.float64)])
    agreement = (ours == ref).mean()
    assert agreement > 0.995, agreement


@pytest.mark.parametrize("kind", ["shear", "rotate", "scale"])
def test_mnist_affine_matches_skimage_warp(kind):
    x = smooth_images(n=8, size=28, channels=1)
    g = torch.Generator().manual_seed(0)
    fn = {"shear": lambda: geometric.shear(x, 0.4, g), "rotate": lambda: geometric.rotate(x, 0.4, g),
          "scale": lambda: geometric.scale(x, 1 / 0.7, g)}[kind]
    ours = fn().numpy()[:, 0]
    for i in range(len(x)):
        errors = []
        for sign in (1, -1):
            if kind == "scale":
                aff = transform.AffineTransform(scale=(1 / 0.7, 1 / 0.7))
                params = {"scale": (1 / 0.7, 1 / 0.7)}
            else:
                params = {"shear" if kind == "shear" else "rotation": 0.4 * sign}
                aff = transform.AffineTransform(**params)
            a1, a2 = aff.params[0, :2]
            b1, b2 = aff.params[1, :2]
            if kind == "shear":  # skimage ≥0.20 changed `shear`'s matrix; MNIST-C used the old one
                a1, a2, b1, b2 = 1, -math.sin(0.4 * sign), 0, math.cos(0.4 * sign)
            matrix = np.array([[a1, a2, 13.5 * (1 - a1 - a2)], [b1, b2, 13.5 * (1 - b1 - b2)], [0, 0, 1]])
            ref = transform.warp(x[i, 0].numpy().astype(np.float64), inverse_map=transform.AffineTransform(matrix))
            errors.append(np.abs(ours[i] - ref).max())
        assert min(errors) < 1e-4
