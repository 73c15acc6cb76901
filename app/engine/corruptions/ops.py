"""Batched tensor building blocks shared by the corruptions.

Everything works on float images in [0, 1] shaped (N, C, H, W). Border modes are named
after scipy.ndimage, because the reference generators filter with scipy / skimage:
'nearest' (aaa|abcd|ddd), 'reflect' (dcba|abcd|dcba), 'mirror' (dcb|abcd|cba, OpenCV's
BORDER_REFLECT_101), 'constant' (zeros).
"""

import math
from functools import lru_cache

import torch
import torch.nn.functional as F


def pad_index(n: int, before: int, after: int, mode: str) -> torch.Tensor:
    """Source index of every position of a line of length n padded by (before, after)."""
    i = torch.arange(-before, n + after)
    if mode == "nearest":
        return i.clamp(0, n - 1)
    if mode == "reflect":
        i = i.remainder(2 * n)
        return torch.where(i >= n, 2 * n - 1 - i, i)
    if mode == "mirror":
        if n == 1:
            return torch.zeros_like(i)
        period = 2 * n - 2
        i = i.remainder(period)
        return torch.where(i >= n, period - i, i)
    if mode == "wrap":
        return i.remainder(n)
    raise ValueError(f"unknown border mode {mode!r}")


def pad2d(x: torch.Tensor, top: int, bottom: int, left: int, right: int, mode: str) -> torch.Tensor:
    if mode == "constant":
        return F.pad(x, (left, right, top, bottom))
    h, w = x.shape[-2:]
    rows = pad_index(h, top, bottom, mode)
    cols = pad_index(w, left, right, mode)
    return x.index_select(-2, rows).index_select(-1, cols)


def gaussian_kernel1d(sigma: float, radius: int) -> torch.Tensor:
    """scipy.ndimage's sampled Gaussian (normalised to sum 1)."""
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).float()


@lru_cache(maxsize=256)
def _filter_matrix(n: int, kernel: tuple, mode: str) -> torch.Tensor:
    """(n, n) matrix M with M @ line = correlate(line, kernel) under the border mode.

    Images here are at most a few hundred pixels wide, so a dense banded matrix applied with
    one BLAS matmul per axis beats a single-channel convolution by ~10×.
    """
    r = len(kernel) // 2
    k = torch.tensor(kernel, dtype=torch.float64)
    mat = torch.zeros(n, n, dtype=torch.float64)
    rows = torch.arange(n).repeat_interleave(len(kernel))
    taps = torch.arange(len(kernel)).repeat(n)
    pos = rows + taps - r  # position in the unpadded line
    if mode == "constant":
        keep = (pos >= 0) & (pos < n)
        rows, taps, pos = rows[keep], taps[keep], pos[keep]
    else:
        pos = pad_index(n, r, r, mode)[pos + r]
    mat.index_put_((rows, pos), k[taps], accumulate=True)
    return mat.float()


def correlate_separable(x: torch.Tensor, k_rows: torch.Tensor | None, k_cols: torch.Tensor | None,
                        mode: str) -> torch.Tensor:
    """Correlate every channel with a separable kernel (k_rows along H, k_cols along W)."""
    h, w = x.shape[-2:]
    y = x
    if k_rows is not None and len(k_rows) > 1:
        y = _filter_matrix(h, tuple(k_rows.double().tolist()), mode).to(y.dtype) @ y
    if k_cols is not None and len(k_cols) > 1:
        y = y @ _filter_matrix(w, tuple(k_cols.double().tolist()), mode).to(y.dtype).T
    return y


def gaussian_filter(x: torch.Tensor, sigma: float, mode: str = "nearest", truncate: float = 4.0) -> torch.Tensor:
    """scipy.ndimage.gaussian_filter / skimage.filters.gaussian on each channel."""
    if sigma <= 1e-15:
        return x
    radius = int(truncate * sigma + 0.5)
    k = gaussian_kernel1d(sigma, radius)
    return correlate_separable(x, k, k, mode)


def clipped_zoom(x: torch.Tensor, zoom: float) -> torch.Tensor:
    """The reference `clipped_zoom`: crop the centre, scipy.ndimage.zoom(order=1), crop back.

    scipy's zoom aligns the corner pixels (align_corners=True) and its output size is
    round(crop × zoom); reproducing both keeps the exact geometry, e.g. zoom 1.01 of a
    32-px image is the identity.
    """
    h, w = x.shape[-2:]
    ch, cw = math.ceil(h / zoom), math.ceil(w / zoom)
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = x[..., top:top + ch, left:left + cw]
    oh, ow = int(round(ch * zoom)), int(round(cw * zoom))
    if (oh, ow) != (ch, cw):
        crop = F.interpolate(crop, size=(oh, ow), mode="bilinear", align_corners=True)
    th, tw = (oh - h) // 2, (ow - w) // 2
    return crop[..., th:th + h, tw:tw + w]


@lru_cache(maxsize=256)
def clipped_zoom_matrix(n: int, zoom: float) -> torch.Tensor:
    """`clipped_zoom` along one axis as an (n, n) matrix (the operation is linear and separable)."""
    eye = torch.eye(n, dtype=torch.float64)
    c = math.ceil(n / zoom)
    top = (n - c) // 2
    crop = eye[top:top + c]  # (c, n): rows select the centre crop
    o = int(round(c * zoom))
    if o != c:
        crop = F.interpolate(crop.T.unsqueeze(0), size=o, mode="linear", align_corners=True)[0].T
    t = (o - n) // 2
    return crop[t:t + n].float()


def base_grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates (cols, rows), each (H, W)."""
    rows, cols = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                                indexing="ij")
    return cols, rows


def sample(x: torch.Tensor, src_cols: torch.Tensor, src_rows: torch.Tensor, padding: str) -> torch.Tensor:
    """Bilinear sampling at pixel coordinates (N, H, W).

    padding: 'zeros' (skimage/scipy cval 0), 'mirror' (OpenCV BORDER_REFLECT_101) or
    'reflect' (scipy's half-sample symmetric 'reflect').
    """
    h, w = x.shape[-2:]
    if padding == "reflect":
        # grid_sample with align_corners=False reflects about the image border: scipy 'reflect'
        gx = (2 * src_cols + 1) / w - 1
        gy = (2 * src_rows + 1) / h - 1
        return F.grid_sample(x, torch.stack((gx, gy), -1), mode="bilinear", padding_mode="reflection",
                             align_corners=False)
    gx = 2 * src_cols / max(w - 1, 1) - 1
    gy = 2 * src_rows / max(h - 1, 1) - 1
    mode = "reflection" if padding == "mirror" else "zeros"
    return F.grid_sample(x, torch.stack((gx, gy), -1), mode="bilinear", padding_mode=mode, align_corners=True)


def warp_inverse(x: torch.Tensor, matrix: torch.Tensor, padding: str = "zeros") -> torch.Tensor:
    """Warp with an inverse map: output pixel (col, row) samples the input at matrix @ (col, row, 1).

    matrix is (2, 3) or (N, 2, 3) in pixel coordinates, as skimage's `warp(inverse_map=...)`
    and OpenCV's `warpAffine(..., WARP_INVERSE_MAP)` use them.
    """
    n, _, h, w = x.shape
    cols, rows = base_grid(h, w)
    pts = torch.stack((cols.flatten(), rows.flatten(), torch.ones(h * w)), 0)  # (3, HW)
    m = matrix.float().expand(n, 2, 3) if matrix.ndim == 2 else matrix.float()
    src = m @ pts  # (N, 2, HW)
    return sample(x, src[:, 0].view(n, h, w), src[:, 1].view(n, h, w), padding)


def gather_shifted(x: torch.Tensor, row_off: torch.Tensor, col_off: torch.Tensor) -> torch.Tensor:
    """x shifted by a per-image integer offset, edge pixels repeated: out[n,:,r,c] = x[n,:,r+dr,c+dc]."""
    n, c, h, w = x.shape
    rows = (torch.arange(h).view(1, h) + row_off.view(n, 1)).clamp(0, h - 1)
    cols = (torch.arange(w).view(1, w) + col_off.view(n, 1)).clamp(0, w - 1)
    flat = (rows.view(n, h, 1) * w + cols.view(n, 1, w)).view(n, 1, h * w).expand(n, c, h * w)
    return x.reshape(n, c, h * w).gather(2, flat).view(n, c, h, w)


def motion_blur(x: torch.Tensor, radius: float, sigma: float, angles_deg: torch.Tensor) -> torch.Tensor:
    """ImageMagick's MotionBlurImage, batched with one angle per image.

    A one-sided Gaussian of width 2·radius+1 taps along the direction `angle`, tap i read
    at offset (round(i·sin a), round(i·cos a)) with the edge pixel repeated, exactly as
    ImageMagick builds it (and as the reference generators call it through Wand).
    """
    width = int(2 * math.ceil(radius) + 1)
    i = torch.arange(width, dtype=torch.float64)
    kernel = torch.exp(-(i * i) / (2 * sigma * sigma))
    kernel = (kernel / kernel.sum()).float()
    a = torch.deg2rad(angles_deg.double())
    # ImageMagick: offset = ceil(i·point/hypot − 0.5)
    col_off = torch.ceil(i.view(1, -1) * torch.cos(a).view(-1, 1) - 0.5).long()
    row_off = torch.ceil(i.view(1, -1) * torch.sin(a).view(-1, 1) - 0.5).long()
    out = torch.zeros_like(x)
    for t in range(width):
        if kernel[t] < 1e-7:  # the Gaussian tail underflows uint8 precision
            break
        out.add_(gather_shifted(x, row_off[:, t], col_off[:, t]), alpha=float(kernel[t]))
    return out


def plasma_fractal(n: int, mapsize: int, wibbledecay: float, generator: torch.Generator) -> torch.Tensor:
    """The diamond-square height map of the reference generators, n at once, in [0, 1]: (n, M, M)."""
    assert mapsize & (mapsize - 1) == 0, "mapsize must be a power of two"
    m = torch.zeros(n, mapsize, mapsize)
    step = mapsize
    wibble = 100.0

    def wibbled_mean(total: torch.Tensor) -> torch.Tensor:
        noise = torch.rand(total.shape, generator=generator) * (2 * wibble) - wibble
        return total / 4 + wibble * noise

    while step >= 2:
        half = step // 2
        corners = m[:, 0::step, 0::step]
        squares = corners + torch.roll(corners, -1, 1)
        squares = squares + torch.roll(squares, -1, 2)
        m[:, half::step, half::step] = wibbled_mean(squares)
        dr = m[:, half::step, half::step]
        ul = m[:, 0::step, 0::step]
        m[:, 0::step, half::step] = wibbled_mean(dr + torch.roll(dr, 1, 1) + ul + torch.roll(ul, -1, 2))
        m[:, half::step, 0::step] = wibbled_mean(dr + torch.roll(dr, 1, 2) + ul + torch.roll(ul, -1, 1))
        step //= 2
        wibble /= wibbledecay
    flat = m.view(n, -1)
    flat -= flat.min(1, keepdim=True).values
    flat /= flat.max(1, keepdim=True).values.clamp_min(1e-12)
    return m


@lru_cache(maxsize=64)
def pil_box_matrix(in_size: int, out_size: int) -> torch.Tensor:
    """Pillow's BOX resampling as an (out, in) matrix (Resample.c `precompute_coeffs`)."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 0.5 * filterscale
    mat = torch.zeros(out_size, in_size, dtype=torch.float64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        for x in range(xmin, xmax):
            arg = (x - center + 0.5) / filterscale
            mat[xx, x] = 1.0 if -0.5 < arg <= 0.5 else 0.0
        total = mat[xx].sum()
        if total > 0:
            mat[xx] /= total
    return mat.float()


def pil_box_resize(x255: torch.Tensor, out_h: int, out_w: int) -> torch.Tensor:
    """Resize 0..255 images like PIL `Image.resize(..., BOX)`: horizontal pass, uint8, vertical pass, uint8."""
    h, w = x255.shape[-2:]
    if out_w != w:
        x255 = torch.floor(x255 @ pil_box_matrix(w, out_w).T + 0.5).clamp_(0, 255)
    if out_h != h:
        x255 = torch.floor(pil_box_matrix(h, out_h) @ x255 + 0.5).clamp_(0, 255)
    return x255


def rgb_to_gray(x: torch.Tensor) -> torch.Tensor:
    """OpenCV's RGB2GRAY weights; (N, 3, H, W) → (N, 1, H, W)."""
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])


def to_uint8(x: torch.Tensor, rounding: str) -> torch.Tensor:
    """Float [0, 1] → uint8. 'truncate' as np.uint8 (CIFAR-10-C, Tiny-ImageNet-C), 'round' (MNIST-C).

    The tiny epsilon on truncation keeps k/255·255 = k despite float error.
    """
    y = x.clamp(0, 1) * 255
    y = torch.floor(y + 1e-3) if rounding == "truncate" else torch.round(y)
    return y.clamp_(0, 255).to(torch.uint8)
