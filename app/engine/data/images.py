"""Decode image files into one uint8 tensor, with an error that names the offending file.

Decoding uses Pillow (torchvision's decoders are deprecated from 0.29 on).
"""

import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from app.errors import DatasetError

# Pillow's modes for more than 8 bits per pixel (16-bit PNG/TIFF, 32-bit integer, float).
# Its own convert("L") clips them at 255, which turns a microscope's 16-bit image white.
_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def _to_8bit(image: Image.Image, path: Path) -> Image.Image:
    """A deep grayscale image scaled to 0..255 by its type's range: 16-bit data by 65535,
    32-bit integers holding 8- or 16-bit values by that range, floats in [0, 1] by 1."""
    array = np.asarray(image)
    if image.mode.startswith("I;16"):
        full = 65535.0
    elif image.mode == "I":
        high = int(array.max()) if array.size else 0
        if int(array.min()) < 0 or high > 65535:
            raise DatasetError(
                f"{path} holds 32-bit pixel values in [{int(array.min())}, {high}], outside 0..65535: "
                "save it as an 8- or 16-bit image"
            )
        full = 255.0 if high <= 255 else 65535.0
    else:  # "F"
        low, high = (float(array.min()), float(array.max())) if array.size else (0.0, 0.0)
        if not (np.isfinite(array).all() and low >= 0 and high <= 255):
            raise DatasetError(
                f"{path} holds floating-point pixel values in [{low:g}, {high:g}], outside [0, 1] and 0..255: "
                "save it as an 8- or 16-bit image"
            )
        full = 1.0 if high <= 1.0 else 255.0
    scaled = np.round(array.astype(np.float64) * (255.0 / full)).clip(0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def _decode(path: Path, channels: int | None, image_size: int | None) -> tuple[np.ndarray, bool, tuple | None]:
    """(C, H, W) uint8, whether the file had more than 8 bits per pixel, and its (width,
    height) when it is larger than Pillow's decompression-bomb limit (None otherwise)."""
    try:
        with Image.open(path) as image:
            huge = image.size if image.width * image.height > (Image.MAX_IMAGE_PIXELS or float("inf")) else None
            deep = image.mode in _DEEP_MODES
            if deep:
                image = _to_8bit(image, path)
            if channels == 1 or (channels is None and image.mode in ("1", "L")):
                image = image.convert("L")
            else:
                image = image.convert("RGB")
            if image_size is not None and image.size != (image_size, image_size):
                image = image.resize((image_size, image_size), Image.Resampling.BILINEAR, reducing_gap=None)
            array = np.asarray(image, dtype=np.uint8)
    except Image.DecompressionBombError as exc:
        raise DatasetError(
            f"{path} is too large to decode safely ({str(exc).split(',')[0]}): shrink the image, e.g. to 4096×4096 or less"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetError(f"{path} is not a readable image ({reason}): remove it or replace it with a valid PNG/JPEG") from None
    return (array[None] if array.ndim == 2 else array.transpose(2, 0, 1)), deep, huge


def read_images(paths: list[Path], image_size: int | None = None, channels: int | None = None,
                notes: list[str] | None = None) -> torch.Tensor:
    """Decode `paths` into (N, C, H, W) uint8.

    Mixed sizes are an error unless `image_size` asks for resizing; when gray and colour
    images are mixed, all become colour (or all `channels`, when given). Images of more than
    8 bits per pixel are scaled to 8 bits; `notes` (when given) gets a line saying so.
    """
    if image_size is not None and image_size < 1:
        raise DatasetError(f"--image-size {image_size} is not a size: give a side in pixels of at least 1, e.g. --image-size 32")
    if not paths:
        return torch.zeros((0, channels or 3, image_size or 1, image_size or 1), dtype=torch.uint8)
    # Pillow's DecompressionBombWarning (an image over ~89 million pixels) is two raw lines on
    # stderr: such images are said once below, in one line that names a file and the fix.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    # Pillow's notes on damaged metadata ("Corrupt EXIF data", "Truncated File Read"): the image
    # either decodes (the pixels are fine) or is refused below with the file's name.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
    with ThreadPoolExecutor(max_workers=4) as pool:  # Pillow releases the GIL while decoding
        decoded = list(pool.map(lambda p: _decode(p, channels, image_size), paths))
    images = [image for image, _, _ in decoded]
    deep = [path for path, (_, is_deep, _) in zip(paths, decoded) if is_deep]
    if deep and notes is not None:
        notes.append(
            f"{len(deep)} image(s) with more than 8 bits per pixel (e.g. {deep[0].name}) were scaled to 8 bits "
            "(0..255): training uses 8-bit images"
        )
    huge = [(path, size) for path, (_, _, size) in zip(paths, decoded) if size is not None]
    if huge and notes is not None:
        (path, (width, height)) = huge[0]
        notes.append(
            f"{len(huge)} image(s) of more than {Image.MAX_IMAGE_PIXELS // 1_000_000} million pixels (e.g. {path}, "
            f"{width}×{height}) were decoded: each takes hundreds of MB of memory while loading; shrink them, "
            "e.g. to 4096×4096 or less"
        )
    if channels is None and len({im.shape[0] for im in images}) > 1:
        images = [np.repeat(im, 3, axis=0) if im.shape[0] == 1 else im for im in images]
    first = images[0].shape[1:]
    for path, image in zip(paths, images):
        if image.shape[1:] != first:
            raise DatasetError(
                f"{path} is {image.shape[2]}×{image.shape[1]} but {paths[0].name} is {first[1]}×{first[0]}: "
                "mixed image sizes; pass --image-size N to resize all images to N×N"
            )
    return torch.from_numpy(np.stack(images))
