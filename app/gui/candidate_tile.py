"""One candidate level in the query panel: the example at that level, drawn with crisp pixels.

Custom painted: the image is scaled by a whole factor with nearest-neighbour sampling, so
every pixel of the noise is a clean square. Nothing is drawn over the image: the candidate's
key, its level and the *now* mark share the caption line under it, and the model's prediction
(when shown) the line below that.
"""

import math

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.gui import theme

CAPTION_H = 24
PREDICTION_H = 16
MARGIN = 5  # between the tile's frame and its image, on every side
GAP = 2  # between the image and the caption
SPACING = 8  # between two tiles
CHROME_H = 2 * MARGIN + GAP + CAPTION_H + PREDICTION_H  # a tile's height beyond its image

# The key that answers with each candidate: 0-9, then letters (not P and S: predictions, skip).
CANDIDATE_KEYS = "0123456789ABCDEFGHIJKLMNOQRTUVWXYZ"


def candidate_key(index: int) -> str:
    """The key of candidate `index` ("" past the last key)."""
    return CANDIDATE_KEYS[index] if 0 <= index < len(CANDIDATE_KEYS) else ""


def best_layout(count: int, image_w: int, image_h: int, room_w: int, room_h: int) -> tuple[int, int]:
    """(columns, scale): the whole-number scale as large as the room allows for `count` tiles;
    on a tie, fewer rows, then the fewest empty places in the last row, then more columns (the
    levels read along rows)."""
    best, best_key = (count, 1), None
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        cell_w = (room_w - (columns - 1) * SPACING) / columns
        cell_h = (room_h - (rows - 1) * SPACING) / rows
        scale = int(min((cell_w - 2 * MARGIN) // image_w, (cell_h - CHROME_H) // image_h))
        key = (scale, -rows, -(rows * columns - count), columns)
        if best_key is None or key > best_key:
            best, best_key = (columns, max(scale, 1)), key
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
        """Where the image goes: the largest whole-number scale that fits, at the top."""
        if self.image is None:
            return QRectF()
        w, h = self.image.width(), self.image.height()
        room_w = self.width() - 2 * MARGIN
        room_h = self.height() - CHROME_H
        scale = max(1, min(room_w // w, room_h // h))
        x = (self.width() - w * scale) // 2
        return QRectF(x, MARGIN, w * scale, h * scale)

    def _small_font(self) -> QFont:
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        return small

    def caption_rect(self) -> QRectF:
        """The line under the image: key badge (left), level (centre), *now* (right)."""
        return QRectF(MARGIN, self.image_rect().bottom() + GAP, self.width() - 2 * MARGIN, CAPTION_H)

    def key_rect(self) -> QRectF:
        """The key's badge: at the caption's left end, never over the image."""
        if not self.key:
            return QRectF()
        caption = self.caption_rect()
        size = min(CAPTION_H - 4, 20)
        width = max(size, QFontMetrics(self._small_font()).horizontalAdvance(self.key) + 8)
        return QRectF(caption.left() + 1, caption.center().y() - size / 2, width, size)

    def now_rect(self) -> QRectF:
        """The *now* badge (the level the example trains at): at the caption's right end."""
        if not self.is_current:
            return QRectF()
        caption = self.caption_rect()
        height = min(CAPTION_H - 6, 18)
        width = QFontMetrics(self._small_font()).horizontalAdvance("now") + 8
        return QRectF(caption.right() - width - 1, caption.center().y() - height / 2, width, height)

    # -- painting and mouse ----------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        frame = QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5)
        background = QColor(theme.ACCENT_SOFT) if self.selected else QColor("#f9fafb" if self.hover else "#ffffff")
        border = QPen(QColor(theme.ACCENT), 3) if self.selected else QPen(QColor("#d1d5db"), 1)
        painter.setPen(border)
        painter.setBrush(background)
        painter.drawRoundedRect(frame, 6, 6)
        if self.image is None:
            return
        target = self.image_rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # crisp pixels
        painter.drawImage(target, self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)

        caption = self.caption_rect()
        small = self._small_font()
        painter.setFont(small)
        key, now = self.key_rect(), self.now_rect()
        if self.key:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.ACCENT if self.selected else "#e5e7eb"))
            painter.drawRoundedRect(key, 4, 4)
            painter.setPen(QColor("white" if self.selected else theme.TEXT))
            painter.drawText(key, Qt.AlignmentFlag.AlignCenter, self.key)
        if self.is_current:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#fde68a"))
            painter.drawRoundedRect(now, 4, 4)
            painter.setPen(QColor(theme.TEXT))
            painter.drawText(now, Qt.AlignmentFlag.AlignCenter, "now")

        # the level, centred in the room the badges leave (a smaller font where the tile is narrow)
        side = max(key.width() if self.key else 0, now.width() if self.is_current else 0)
        room = caption.adjusted(side + 3, 0, -(side + 3), 0)
        text = f"σ {self.level:g}"
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        while QFontMetrics(font).horizontalAdvance(text) > room.width() and font.pointSizeF() > small.pointSizeF():
            font.setPointSizeF(font.pointSizeF() - 0.5)
        painter.setFont(font)
        painter.setPen(QColor(theme.TEXT))
        painter.drawText(room, Qt.AlignmentFlag.AlignCenter, text)

        if self.prediction is not None:
            painter.setFont(small)
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
