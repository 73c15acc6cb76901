"""pyqtgraph defaults shared by every plot: light background, antialiased lines, no focus."""

import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.gui import theme

pg.setConfigOptions(antialias=True, background="w", foreground=theme.MUTED)


def make_plot(title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    widget = pg.PlotWidget()
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
