"""Digital corruptions: brightness, contrast, pixelate, JPEG, and MNIST-C's stripe, dotted line,
zigzag and Canny edges."""

import math
import warnings
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.io import ImageReadMode, decode_jpeg, encode_jpeg

from app.engine.corruptions import ops


def brightness(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    """+amount on the HSV value channel, hue and saturation kept.

    With H and S fixed every RGB channel is proportional to V, so the HSV round trip is an
    exact rescale by min(V + amount, 1) / V (black, where S = 0, becomes gray V + amount).
    For one channel (MNIST-C's gray2rgb → HSV → rgb2gray) this is clip(x + amount).
    """
    v = x.amax(1, keepdim=True)
    v_new = (v + amount).clamp(max=1)
    return torch.where(v > 0, x * (v_new / v.clamp_min(1e-12)), v_new.expand_as(x)).clamp_(0, 1)


def contrast(x: torch.Tensor, factor: float, g: torch.Generator) -> torch.Tensor:
    means = x.mean((2, 3), keepdim=True)  # per image and channel, as the reference's HWC mean
    return ((x - means) * factor + means).clamp_(0, 1)


def pixelate(x: torch.Tensor, factor: float, g: torch.Generator) -> torch.Tensor:
    """PIL BOX resize down to int(size·factor) and back up, uint8 between passes as PIL does."""
    h, w = x.shape[-2:]
    y = torch.round(x * 255)
    small = ops.pil_box_resize(y, int(h * factor), int(w * factor))
    return ops.pil_box_resize(small, h, w) / 255


def jpeg(x: torch.Tensor, quality: int, g: torch.Generator) -> torch.Tensor:
    """Encode/decode with libjpeg at `quality` (4:2:0 chroma subsampling, as PIL's default)."""
    u8 = torch.round(x.clamp(0, 1) * 255).to(torch.uint8)
    return jpeg_roundtrip(u8, int(quality)).float() / 255


def jpeg_roundtrip(u8: torch.Tensor, quality: int) -> torch.Tensor:
    """Batched libjpeg round trip of uint8 (N, C, H, W) images."""
    if len(u8) == 0:
        return u8
    with warnings.catch_warnings():  # torchvision 0.29 announces a move of its codecs to torchcodec
        warnings.simplefilter("ignore", DeprecationWarning)
        encoded = encode_jpeg(list(u8.unbind(0)), quality=quality)
        mode = ImageReadMode.GRAY if u8.shape[1] == 1 else ImageReadMode.RGB
        return torch.stack(decode_jpeg(encoded, mode=mode))


def stripe(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Invert the left and right quarter of the columns (0–6 and 21–27 of 28)."""
    w = x.shape[-1]
    band = w // 4
    y = x.clone()
    y[..., :band] = 1 - y[..., :band]
    y[..., w - band:] = 1 - y[..., w - band:]
    return y


def _line_from_points(c0: float, r0, c1: float, r1, size: int = 28) -> torch.Tensor:
    """MNIST-C's `line_from_points`: a line with a log fall-off of 2.3 px, masked to columns
    [floor(c0), ceil(c1)). r0 and r1 may be tensors (a batch of lines): result (..., size, size)."""
    if c1 == c0:
        shape = torch.broadcast_shapes(torch.as_tensor(r0).shape, torch.as_tensor(r1).shape)
        return torch.zeros(*shape, size, size, dtype=torch.float64)
    r0 = torch.as_tensor(r0, dtype=torch.float64)[..., None, None]
    r1 = torch.as_tensor(r1, dtype=torch.float64)[..., None, None]
    grid = torch.linspace(0, size - 1, size, dtype=torch.float64)
    cc, rr = grid.view(1, size), grid.view(size, 1)
    m = (r1 - r0) / (c1 - c0)
    dist = (rr - (m * (cc - c0) + r0)).abs().clamp(0, 2.3 - 1e-10)
    line = (torch.log(1 - dist / 2.3) + 1).clamp(0, 1)
    line = line.expand(*line.shape[:-2], size, size).clone()
    line[..., :, : int(math.floor(c0))] = 0
    line[..., :, int(math.ceil(c1)):] = 0
    return line


@lru_cache(maxsize=1)
def dotted_line_masks() -> torch.Tensor:
    """All 27×27 MNIST-C dotted lines (r0, r1 ∈ 0..26), from column 0 to 27, every other 2-px piece left out."""
    r = torch.arange(27, dtype=torch.float64)
    lines = _line_from_points(0, r.view(27, 1), 27, r.view(1, 27))  # (27, 27, 28, 28)
    for start in range(0, 28, 4):  # off: columns [0:2], [4:6], ..., [24:26]
        lines[..., start:start + 2] = 0
    return lines.float()


def dotted_line(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    ends = torch.randint(0, 27, (n, 2), generator=g)
    masks = dotted_line_masks()[ends[:, 0], ends[:, 1]].unsqueeze(1)
    return (x + masks).clamp_(0, 1)


def _zigzag_mask(r0: int, delta: int) -> torch.Tensor:
    """MNIST-C's zigzag from column 2 to 25: segments of length a = 2 and amplitude b = 2."""
    a = b = 2.0
    c0, c1 = 2, 25
    r1 = r0 + delta
    theta = np.arctan((r1 - r0) / (c1 - c0))
    d = (c1 - c0) / np.cos(theta)
    endpoints = [(0.0, 0.0)]
    r_i = 0.0
    for i in range(int((d - a) // (2 * a)) + 1):
        endpoints.append(((2 * i + 1) * a, (-1) ** i * b))
        r_i = (-1) ** i * b
    max_c = (2 * a) * (d // (2 * a))
    if d != max_c:
        endpoints.append((d, r_i / (2 * (d - max_c))))
    pts = np.array(endpoints).T
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    cs, rs = rot.dot(pts)
    cs, rs = cs + c0, rs + r0
    mask = torch.zeros(28, 28, dtype=torch.float64)
    for i in range(1, len(cs)):
        mask = (mask + _line_from_points(float(cs[i - 1]), float(rs[i - 1]), float(cs[i]), float(rs[i]))).clamp(0, 1)
    return mask


@lru_cache(maxsize=1)
def zigzag_masks() -> torch.Tensor:
    """(27 start rows, 10 slopes −5..4, 28, 28): every zigzag MNIST-C can draw."""
    return torch.stack([torch.stack([_zigzag_mask(r0, d) for d in range(-5, 5)]) for r0 in range(27)]).float()


def zigzag(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """x + each zigzag segment, clipped after each (adding then clipping twice equals adding the
    union clipped, since all terms are non-negative)."""
    n = x.shape[0]
    r0 = torch.randint(0, 27, (n,), generator=g)
    slope = torch.randint(-5, 5, (n,), generator=g) + 5
    return (x + zigzag_masks()[r0, slope].unsqueeze(1)).clamp_(0, 1)


def canny_edges(x: torch.Tensor, g: torch.Generator, sigma: float = 1.0,
                low: float = 0.1, high: float = 0.2) -> torch.Tensor:
    """skimage.feature.canny with its defaults (σ 1, thresholds 0.1 / 0.2), batched in torch.

    Smoothing with a zero border renormalised by the smoothed mask, Sobel gradients,
    non-maximum suppression interpolated in four sectors (skimage's formulation, later
    sectors overriding earlier ones on their shared borders), no maxima on the outer ring,
    and hysteresis by repeated 8-neighbour dilation of the strong edges inside the weak ones.
    """
    n, c, h, w = x.shape
    ones = torch.ones(1, 1, h, w)
    smoothed = ops.gaussian_filter(x, sigma, "constant") / (ops.gaussian_filter(ones, sigma, "constant") + 1e-15)
    deriv, smooth = torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])
    isobel = ops.correlate_separable(smoothed, deriv, smooth, "reflect")  # along rows (axis 0)
    jsobel = ops.correlate_separable(smoothed, smooth, deriv, "reflect")  # along columns (axis 1)
    ai, aj = isobel.abs(), jsobel.abs()
    mag = torch.hypot(isobel, jsobel)

    padded = F.pad(mag, (1, 1, 1, 1))

    def at(dr: int, dc: int) -> torch.Tensor:  # magnitude at (r + dr, c + dc)
        return padded[..., 1 + dr:1 + dr + h, 1 + dc:1 + dc + w]

    inner = torch.zeros(1, 1, h, w, dtype=torch.bool)
    inner[..., 1:-1, 1:-1] = True
    candidates = inner & (mag > 0)
    w_ji = aj / ai.clamp_min(1e-30)
    w_ij = ai / aj.clamp_min(1e-30)
    maxima = torch.zeros_like(candidates.expand_as(mag))
    sectors = (
        ((isobel >= 0) & (jsobel >= 0) & (ai >= aj)) | ((isobel <= 0) & (jsobel <= 0) & (ai >= aj)),
        ((isobel >= 0) & (jsobel >= 0) & (ai <= aj)) | ((isobel <= 0) & (jsobel <= 0) & (ai <= aj)),
        ((isobel <= 0) & (jsobel >= 0) & (ai <= aj)) | ((isobel >= 0) & (jsobel <= 0) & (ai <= aj)),
        ((isobel <= 0) & (jsobel >= 0) & (ai >= aj)) | ((isobel >= 0) & (jsobel <= 0) & (ai >= aj)),
    )
    # (weight, diagonal neighbour, axis neighbour) for the + and − side of each sector
    sides = (
        (w_ji, ((1, 1), (1, 0)), ((-1, -1), (-1, 0))),
        (w_ij, ((1, 1), (0, 1)), ((-1, -1), (0, -1))),
        (w_ij, ((-1, 1), (0, 1)), ((1, -1), (0, -1))),
        (w_ji, ((-1, 1), (-1, 0)), ((1, -1), (1, 0))),
    )
    for pts, (weight, plus, minus) in zip(sectors, sides):
        pts = pts & candidates
        c_plus = weight * at(*plus[0]) + (1 - weight) * at(*plus[1]) <= mag
        c_minus = weight * at(*minus[0]) + (1 - weight) * at(*minus[1]) <= mag
        maxima = torch.where(pts, c_plus & c_minus, maxima)
    weak = maxima & (mag >= low)
    edges = maxima & (mag >= high)
    for _ in range(h * w):
        grown = weak & (F.max_pool2d(edges.float(), 3, 1, 1) > 0)
        if torch.equal(grown, edges):
            break
        edges = grown
    return edges.float()
