"""Build resources/data/embedded/ from Debian's `dataset-fashion-mnist` package.

A class-balanced subset of Fashion-MNIST (600 train + 200 test images per class,
6,000 / 2,000 in all), picked with a fixed seed, written in the official IDX layout
(gzip) so the same loader reads it as the full dataset.

    apt-get install -y dataset-fashion-mnist
    python resources/data/make_embedded.py
"""

import gzip
import sys
from pathlib import Path

import numpy as np

SOURCE = Path("/usr/share/datasets/fashion-mnist")
TARGET = Path(__file__).resolve().parent / "embedded"
PER_CLASS = {"train": 600, "t10k": 200}
SEED = 20210329  # AQPL's arXiv date: any fixed number would do


def read(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def write(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    # mtime=0 keeps the files byte-identical between builds
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(header + array.astype(np.uint8).tobytes())


def main() -> int:
    if not SOURCE.is_dir():
        print(f"{SOURCE} not found: apt-get install -y dataset-fashion-mnist", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for prefix, per_class in PER_CLASS.items():
        images = read(SOURCE / f"{prefix}-images-idx3-ubyte.gz")
        labels = read(SOURCE / f"{prefix}-labels-idx1-ubyte.gz")
        picked = np.concatenate(
            [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(10)]
        )
        picked = rng.permutation(picked)
        write(TARGET / f"{prefix}-images-idx3-ubyte.gz", images[picked])
        write(TARGET / f"{prefix}-labels-idx1-ubyte.gz", labels[picked])
        print(f"{prefix}: {len(picked)} images, {np.bincount(labels[picked])} per class")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
