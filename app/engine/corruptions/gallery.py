"""A picture of a suite: corruption × severity for a few test images, drawn with Pillow only."""

from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from app.engine.corruptions.suite import GAUSSIAN, get_suite, suite_for
from app.errors import SettingsError

BACKGROUND = (255, 255, 255)
INK = (30, 30, 30)
GAP = 2


def pick_examples(dataset, count: int) -> torch.Tensor:
    """The first test image of each of the first `count` classes present (deterministic)."""
    chosen, seen = [], set()
    for i, label in enumerate(dataset.test_y.tolist()):
        if label not in seen:
            seen.add(label)
            chosen.append(i)
        if len(chosen) == count:
            break
    return dataset.test_x[chosen]


def _tile(image: torch.Tensor, scale: int) -> Image.Image:
    array = image.permute(1, 2, 0).contiguous().numpy()
    tile = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).convert("RGB")
    return tile.resize((tile.width * scale, tile.height * scale), Image.NEAREST)


def render_gallery(dataset, suite: str | None = None, images: int = 3, seed: int = 0,
                   scale: int | None = None) -> Image.Image:
    """Rows: the clean images, then each corruption (and the Gaussian row). Columns: for each
    example image, its severities (imagenet-c: 'clean' and 1..5; mnist-c: one fixed severity)."""
    if images < 1:
        raise SettingsError("the gallery needs at least 1 image: pass --images 1 or more")
    name = suite or suite_for(dataset)
    s = get_suite(name)
    examples = pick_examples(dataset, images)
    s.check_images(examples)
    size = int(examples.shape[-1])
    scale = scale or max(1, 64 // size)
    severities = s.severities(size)

    # rows of (label, [tile images]); mnist-c: one column per example, the Gaussian row's σ as rows
    rows: list[tuple[str, list[torch.Tensor]]] = []
    if severities == 1:
        header = [f"image {i + 1}" for i in range(len(examples))]
        rows.append(("clean", list(examples)))
        for c in s.corruptions:
            rows.append((c, list(s.apply(c, examples, 1, seed))))
        for sev, sigma in enumerate(s.gaussian_sigmas(size), 1):
            rows.append((f"gaussian {sigma:g}", list(s.apply(GAUSSIAN, examples, sev, seed))))
    else:
        header = ["clean" if j == 0 else f"{j}" for _ in examples for j in range(severities + 1)]
        for c in s.corruptions:
            per_severity = [s.apply(c, examples, sev, seed) for sev in range(1, severities + 1)]
            tiles = []
            for i in range(len(examples)):
                tiles.append(examples[i])
                tiles += [per_severity[k][i] for k in range(severities)]
            rows.append((c, tiles))

    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_width = max(probe.textlength(label, font=font) for label, _ in rows) + 8
    cell = size * scale + GAP
    header_height = 16
    columns = len(rows[0][1])
    width = int(label_width + columns * cell + GAP)
    height = int(header_height + len(rows) * cell + GAP)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for j, text in enumerate(header):
        x0 = label_width + j * cell
        draw.text((x0 + (cell - probe.textlength(text, font=font)) / 2, 2), text, fill=INK, font=font)
    for r, (label, tiles) in enumerate(rows):
        y0 = header_height + r * cell
        draw.text((4, y0 + cell / 2 - 6), label, fill=INK, font=font)
        for j, tile in enumerate(tiles):
            canvas.paste(_tile(tile, scale), (int(label_width + j * cell), int(y0)))
    return canvas


def write_gallery(dataset, out: Path, suite: str | None = None, images: int = 3, seed: int = 0) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise SettingsError(f"the gallery is a PNG image: name the output file *.png, not {out.name!r}")
    picture = render_gallery(dataset, suite, images, seed)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        picture.save(out, format="PNG", optimize=True)
    except OSError as exc:
        raise SettingsError(f"cannot write {out} ({exc.strerror or exc}): choose a writable path") from None
    return out
