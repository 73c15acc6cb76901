"""Histogram of the current perturbation levels, stacked by where each level came from
(initial, adapted by CAT, set by the expert, propagated from answers). Fed by level-table snapshots from the worker."""

import pyqtgraph as pg
import torch

from app.engine.levels import Source
from app.engine.propagate import NEIGHBOURS
from app.gui import theme
from app.gui.plot_style import make_plot


def level_counts(level: torch.Tensor, source: torch.Tensor, grid: list[float]) -> torch.Tensor:
    """(sources, len(grid)) counts: each level goes to its nearest grid level (CAT's steps may
    fall between grid levels), one row per source."""
    grid_t = torch.tensor(grid, dtype=level.dtype)
    bins = torch.bucketize(level, (grid_t[1:] + grid_t[:-1]) / 2) if len(grid) > 1 else torch.zeros_like(level, dtype=torch.long)
    counts = torch.zeros(len(Source), len(grid), dtype=torch.long)
    counts.index_put_((source.long().clamp(0, len(Source) - 1), bins), torch.ones_like(bins), accumulate=True)
    return counts


DRIFT_QUANTILE = 0.9  # "what the expert still recognises": the level 90% of the answers reach
DRIFT_SHARE = 0.10  # say so once more than this share of the set trains above it
DRIFT_MIN_ANSWERS = 5  # fewer answers say too little about the set


def drift_text(level: torch.Tensor, answers: torch.Tensor | None) -> str | None:
    """One sentence when many examples train above what the expert's answers still recognise
    (None otherwise): e.g. CAT raising the unanswered examples to ε_max in a long session."""
    if answers is None or len(answers) < DRIFT_MIN_ANSWERS:
        return None
    line = float(torch.quantile(answers.float(), DRIFT_QUANTILE))
    above = int((level > line + 1e-6).sum())
    if above <= DRIFT_SHARE * len(level):
        return None
    return (f"{above:,} of {len(level):,} examples ({100 * above / len(level):.0f}%) train above σ {line:.1f}, "
            f"beyond what you recognise in {100 * DRIFT_QUANTILE:.0f}% of your answers")


class LevelHistogram:
    def __init__(self):
        self.widget = make_plot("Levels by source", "level σ", "examples")
        # a light backing keeps the legend legible; the y range leaves room above the bars for it
        # (fit_legend), so it never hides the top of a bar
        self.legend = self.widget.addLegend(offset=(-10, 10), labelTextColor=theme.TEXT, brush=pg.mkBrush(255, 255, 255, 215))
        self.bars: list[pg.BarGraphItem] = []
        self.snapshot = None
        self.counts: torch.Tensor | None = None
        self.dirty = False
        self.drift: str | None = None  # the sentence shown when levels drift above the expert's line
        self.on_drift = None  # called with the new sentence (or None) when it changes
        self._grid: list[float] | None = None

    def set_snapshot(self, snapshot) -> None:
        self.snapshot = snapshot
        self.dirty = True

    def clear(self) -> None:
        self.snapshot, self.counts, self._grid = None, None, None
        for bar in self.bars:
            self.widget.removeItem(bar)
        self.bars = []
        self.legend.clear()
        self.dirty = False

    def redraw(self) -> None:
        self.dirty = False
        if self.snapshot is None:
            return
        grid = self.snapshot.grid
        self.counts = level_counts(self.snapshot.level, self.snapshot.source, grid)
        if grid != self._grid:
            self._grid = grid
            axis = self.widget.getAxis("bottom")
            step = max(1, -(-len(grid) // 6))  # at most about six labels: readable in a narrow plot
            axis.setTicks([[(i, f"{g:g}") for i, g in enumerate(grid) if i % step == 0 or i == len(grid) - 1]])
        x = list(range(len(grid)))
        base = torch.zeros(len(grid), dtype=torch.long)
        if not self.bars:
            for colour, name in zip(theme.SOURCE_COLOURS, theme.SOURCE_NAMES):
                bar = pg.BarGraphItem(x=x, height=[0] * len(x), width=0.8, brush=colour, pen=pg.mkPen("w", width=0.5), name=name)
                self.widget.addItem(bar)
                self.bars.append(bar)
        self.legend.clear()
        for row, (bar, name) in enumerate(zip(self.bars, theme.SOURCE_NAMES)):
            heights = self.counts[row]
            bar.setOpts(x=x, y0=base.tolist(), height=heights.tolist(), width=0.8)
            label = f"{name} ({int(heights.sum())})"
            if row == Source.PROPAGATED and self.per_answer() is not None:
                label = f"{name} ({int(heights.sum())} · {self.per_answer():.0f}/answer)"
            self.legend.addItem(bar, label)
            base = base + heights
        self.fit_legend(int(base.max()) if len(base) else 0)
        drift = drift_text(self.snapshot.level, self.snapshot.answers)
        if drift != self.drift and self.on_drift is not None:
            self.on_drift(drift)
        self.drift = drift
        if self.drift:
            self.widget.setTitle("⚠ Levels by source", color=theme.WARN, size="11pt")
        else:
            self.widget.setTitle("Levels by source", color=theme.TEXT, size="11pt")
        self.widget.setToolTip((self.drift + "\n\n" if self.drift else "") + self.describe())

    def fit_legend(self, tallest: int) -> None:
        """A y range whose top part, where the legend sits, stays clear of the tallest bar."""
        view_height = self.widget.getViewBox().height()
        legend_height = self.legend.boundingRect().height() + 20  # its offset and a margin
        share = min(0.6, legend_height / view_height) if view_height > 0 else 0.45
        self.widget.setYRange(0, max(tallest, 1) / (1 - share), padding=0)

    def per_answer(self) -> float | None:
        """How many unanswered examples one answer moved, on average (None: nothing propagated)."""
        if self.counts is None:
            return None
        answered, propagated = int(self.counts[Source.EXPERT].sum()), int(self.counts[Source.PROPAGATED].sum())
        return propagated / answered if answered and propagated else None

    def describe(self) -> str:
        """The hover text: where the levels come from, and what one answer moved."""
        if self.counts is None:
            return ""
        totals = {name: int(self.counts[row].sum()) for row, name in enumerate(theme.SOURCE_NAMES)}
        text = ", ".join(f"{n:,} {name}" for name, n in totals.items() if n)
        per_answer = self.per_answer()
        if per_answer is not None:
            how = {"neighbours": f"from the {NEIGHBOURS} most similar answered images", "class": "from their class's answers"}
            text += (f"\n{totals['expert']:,} answers set {totals['propagated']:,} more levels "
                     f"{how.get(self.snapshot.propagation, '')}: each answer moved about {per_answer:.0f} examples")
        return text
