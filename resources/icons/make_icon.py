"""The application icon, drawn in code: one image at three noise levels, the middle one picked.

    python resources/icons/make_icon.py   # writes aqpl-studio.svg and aqpl-studio-256.png beside itself

A build-time script: the application only reads the files it writes.

It is the product in one picture: the same example with more and more noise, and the expert's
choice (the largest level still recognisable) marked in orange.
"""

import random
from pathlib import Path

SIZE = 256
TILE = 64
GAP = 12
TOP = 100
SHIRT = [(18, 10), (26, 6), (38, 6), (46, 10), (58, 22), (49, 31), (45, 27), (45, 57), (19, 57), (19, 27), (15, 31), (6, 22)]
NOISE_DOTS = (0, 70, 260)  # per tile: more noise from left to right
CHOSEN = 1


def svg_text() -> str:
    rng = random.Random(7)  # fixed: the icon is the same on every build
    left = (SIZE - 3 * TILE - 2 * GAP) // 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}">',
        '<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">'
        '<stop offset="0" stop-color="#1e3a8a"/><stop offset="1" stop-color="#2563eb"/></linearGradient>',
    ]
    for i in range(3):
        x = left + i * (TILE + GAP)
        parts.append(f'<clipPath id="t{i}"><rect x="{x}" y="{TOP}" width="{TILE}" height="{TILE}" rx="6"/></clipPath>')
    parts.append("</defs>")
    parts.append(f'<rect x="8" y="8" width="{SIZE - 16}" height="{SIZE - 16}" rx="44" fill="url(#bg)"/>')
    for i in range(3):
        x = left + i * (TILE + GAP)
        parts.append(f'<g clip-path="url(#t{i})">')
        parts.append(f'<rect x="{x}" y="{TOP}" width="{TILE}" height="{TILE}" fill="#f8fafc"/>')
        points = " ".join(f"{x + px},{TOP + py}" for px, py in SHIRT)
        parts.append(f'<polygon points="{points}" fill="#1f2937"/>')
        for _ in range(NOISE_DOTS[i]):
            dx, dy = rng.randrange(0, TILE, 4), rng.randrange(0, TILE, 4)
            shade = rng.choice(("#ffffff", "#94a3b8", "#111827"))
            parts.append(f'<rect x="{x + dx}" y="{TOP + dy}" width="4" height="4" fill="{shade}" opacity="0.85"/>')
        parts.append("</g>")
    x = left + CHOSEN * (TILE + GAP)
    parts.append(f'<rect x="{x - 5}" y="{TOP - 5}" width="{TILE + 10}" height="{TILE + 10}" rx="9" fill="none" '
                 'stroke="#f97316" stroke-width="6"/>')
    parts.append(f'<rect x="{x + 12}" y="{TOP + TILE + 18}" width="{TILE - 24}" height="10" rx="5" fill="#f97316"/>')
    # a falling robustness curve above the tiles
    parts.append(f'<polyline points="{left},{TOP - 40} {left + 70},{TOP - 38} {left + 130},{TOP - 30} {SIZE - left},{TOP - 16}" '
                 'fill="none" stroke="#bfdbfe" stroke-width="6" stroke-linecap="round" stroke-linejoin="round"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def render_png(svg_path: Path, png_path: Path, size: int = SIZE) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["icon"])
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(svg_path)).render(painter)
    painter.end()
    image.save(str(png_path))


def main() -> int:
    folder = Path(__file__).resolve().parent
    svg = folder / "aqpl-studio.svg"
    svg.write_text(svg_text())
    render_png(svg, folder / "aqpl-studio-256.png")
    print(f"wrote {svg} and {folder / 'aqpl-studio-256.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
