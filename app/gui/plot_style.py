"""pyqtgraph defaults shared by every plot: light background, antialiased lines, no focus."""

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.gui import theme

pg.setConfigOptions(antialias=True, background="w", foreground=theme.MUTED)


class IntegerAxis(pg.AxisItem):
    """An axis of counts (answers, epochs): ticks at whole numbers from 0 up, never at 0.5."""

    def tickValues(self, minVal: float, maxVal: float, size: float):
        levels = []
        for spacing, values in super().tickValues(minVal, maxVal, size):
            if spacing < 1:
                continue
            whole = [v for v in values if v >= 0 and abs(v - round(v)) < 1e-9]
            if whole:
                levels.append((spacing, whole))
        if not levels:  # a range narrower than one: its whole numbers
            lo, hi = sorted((minVal, maxVal))
            levels = [(1.0, [float(v) for v in range(max(0, math.ceil(lo)), math.floor(hi) + 1)])]
        return levels


def make_plot(title: str, x_label: str, y_label: str, integer_x: bool = False) -> pg.PlotWidget:
    widget = pg.PlotWidget(axisItems={"bottom": IntegerAxis("bottom")} if integer_x else None)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the query panel
    widget.setMenuEnabled(False)
    widget.setTitle(title, color=theme.TEXT, size="11pt")
    widget.setLabel("bottom", x_label)
    widget.setLabel("left", y_label)
    widget.showGrid(x=True, y=True, alpha=0.15)
    for side in ("bottom", "left"):
        widget.getAxis(side).enableAutoSIPrefix(False)  # no "(x0.001)" on a single point
    widget.setMinimumSize(220, 160)
    return widget
