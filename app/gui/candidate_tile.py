"""One candidate level in the query panel: the example at that level, drawn with crisp pixels.

Custom painted: the image is scaled by a whole factor with nearest-neighbour sampling, so
every pixel of the noise is a clean square; below it, the level and its key.
"""

import math

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.gui import theme

CAPTION_H = 26
PREDICTION_H = 18
MARGIN = 6
SPACING = 8
CHROME_H = 2 * MARGIN + 4 + CAPTION_H + PREDICTION_H  # a tile's height beyond its image


def best_layout(count: int, image_w: int, image_h: int, room_w: int, room_h: int) -> tuple[int, int]:
    """(columns, scale): the whole-number scale as large as the room allows for `count` tiles;
    on a tie, more columns (the levels read along rows)."""
    best = (count, 1)
    best_scale = 0
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        cell_w = (room_w - (columns - 1) * SPACING) / columns
        cell_h = (room_h - (rows - 1) * SPACING) / rows
        scale = int(min((cell_w - 2 * MARGIN) // image_w, (cell_h - CHROME_H) // image_h))
        if scale >= best_scale:
            best, best_scale = (columns, max(scale, 1)), scale
    return best


def tile_size(image_w: int, image_h: int, scale: int) -> tuple[int, int]:
    return image_w * scale + 2 * MARGIN, image_h * scale + CHROME_H


class CandidateTile(QWidget):
    clicked = Signal(int)

    def __init__(self, index: int, parent=None):
        super().__init__(parent)
        self.index = index
        self.image: QImage | None = None
        self.level = 0.0
        self.key = ""
        self.selected = False
        self.is_current = False  # the example trains at this level now
        self.prediction: tuple[str, bool] | None = None  # (text, correct)
        self.hover = False
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_candidate(self, image: QImage, level: float, key: str) -> None:
        self.image, self.level, self.key = image, level, key
        self.prediction = None
        self.update()

    def set_state(self, selected: bool, current: bool) -> None:
        if (selected, current) != (self.selected, self.is_current):
            self.selected, self.is_current = selected, current
            self.update()

    def set_prediction(self, prediction: tuple[str, bool] | None) -> None:
        self.prediction = prediction
        self.update()

    def image_rect(self) -> QRectF:
        """Where the image goes: the largest whole-number scale that fits."""
        if self.image is None:
            return QRectF()
        w, h = self.image.width(), self.image.height()
        room_w = self.width() - 2 * MARGIN
        room_h = self.height() - 2 * MARGIN - CAPTION_H - PREDICTION_H
        scale = max(1, min(room_w // w, room_h // h))
        x = (self.width() - w * scale) / 2
        y = MARGIN + max(0, (room_h - h * scale) / 2)
        return QRectF(x, y, w * scale, h * scale)

    # -- painting and mouse ----------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        frame = QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5)
        background = QColor(theme.ACCENT_SOFT) if self.selected else QColor("#f9fafb" if self.hover else "#ffffff")
        border = QPen(QColor(theme.ACCENT), 3) if self.selected else QPen(QColor("#d1d5db"), 1)
        painter.setPen(border)
        painter.setBrush(background)
        painter.drawRoundedRect(frame, 8, 8)
        if self.image is None:
            return
        target = self.image_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # crisp pixels
        painter.drawImage(target, self.image)

        caption = QRectF(0, target.bottom() + 4, self.width(), CAPTION_H)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(caption, Qt.AlignmentFlag.AlignCenter, f"σ {self.level:g}")

        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        painter.setFont(small)
        if self.key:
            badge = QRectF(5, 5, 20, 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.ACCENT if self.selected else "#e5e7eb"))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor("white" if self.selected else theme.TEXT))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, self.key)
        if self.is_current:
            badge = QRectF(self.width() - 45, 5, 40, 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#fde68a"))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor(theme.TEXT))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "now")
        if self.prediction is not None:
            text, correct = self.prediction
            painter.setPen(QColor(theme.GOOD if correct else theme.BAD))
            line = QRectF(2, caption.bottom(), self.width() - 4, PREDICTION_H)
            painter.drawText(line, Qt.AlignmentFlag.AlignCenter, painter.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, int(line.width())))

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.index)

    def enterEvent(self, event) -> None:
        self.hover = True
        self.update()

    def leaveEvent(self, event) -> None:
        self.hover = False
        self.update()
