"""Reader for the IDX files of MNIST and Fashion-MNIST, plain or gzip-compressed.

torchvision's `read_image_file` only reads uncompressed files and raises bare
assertion errors; the official distributions (and Debian's package) ship `.gz`.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np
import torch

from app.errors import DatasetError

# IDX type codes → numpy dtypes (big-endian)
# Images are 3 dimensions (N, H, W), labels 1: more is no dataset this program reads.
MAX_DIMS = 4
_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def find_idx(folder: Path, stem: str) -> Path:
    """`stem` with or without `.gz`, also torchvision's `-idx3-ubyte` vs `.idx3-ubyte` spelling."""
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        path = folder / name
        if path.is_file():
            return path
    raise DatasetError(
        f"{folder / (stem + '.gz')} is missing: put the official IDX files in {folder} "
        "or point --data-dir at the folder that holds them"
    )


def read_idx(path: Path) -> torch.Tensor:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path} is corrupt or truncated ({exc}): download the file again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number): download the file again")
    ndim = raw[3]
    if not 1 <= ndim <= MAX_DIMS:
        raise DatasetError(
            f"{path} has a header of {ndim} dimensions, not an IDX file of images or labels (1 to {MAX_DIMS}): "
            "download the file again"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path} is truncated (incomplete header): download the file again")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_TYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python integers: sizes up to (2^32)^ndim do not wrap
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path} holds {len(raw) - header} data bytes but its header promises {expected} "
            f"for shape {shape}: the file is truncated or corrupt; download it again"
        )
    try:
        array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    except ValueError:  # no data, but sides no array can have (e.g. 0 × 2^31 × 2^31)
        raise DatasetError(
            f"{path} has shape {shape}, which no array can hold: the header is corrupt; download the file again"
        ) from None
    return torch.from_numpy(array.astype(array.dtype.newbyteorder("="), copy=True))
