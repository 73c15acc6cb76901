"""report.md: the results table, the settings, and PNG plots of the metrics history."""

from pathlib import Path

from app.engine.atomic import replace_atomically, write_text_atomically
from app.engine.levels import Source

COLOURS = {"initial": "#9e9e9e", "adapted": "#1f77b4", "expert": "#d62728", "propagated": "#9467bd"}


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def _percent(value) -> str:
    return "missing" if value is None else f"{value:.2f}"


def plot_curves(history, path: Path) -> Path | None:
    if not history:
        return None
    figure, ax = _figure()
    for i, m in enumerate(history):
        last = i == len(history) - 1
        alpha = 1.0 if last else 0.15 + 0.5 * i / max(len(history) - 1, 1)
        label = f"epoch {m.epoch}" + (" (final)" if m.final else "") if last or i == 0 else None
        ax.plot(m.curve_levels, m.curve_accuracy, marker="o" if last else None, color="#d62728" if last else "#1f77b4",
                alpha=alpha, label=label)
    ax.set(xlabel="noise σ", ylabel="test accuracy (%)", title="Robustness curve", ylim=(0, 100))
    ax.legend()
    replace_atomically(path, figure.savefig)
    return path


def by_answers(history, name: str) -> list[tuple[int, float]]:
    """(answers, value) of metric `name`, one point per answer count (the latest), by count."""
    latest = {m.answers: getattr(m, name) for m in history if getattr(m, name) is not None}
    return [(count, latest[count]) for count in sorted(latest)]


def plot_accuracy_vs_answers(history, path: Path) -> Path | None:
    """One point per number of answers, the latest evaluation at that count: after an undo the
    count falls and rises again, and a line in history order would scribble back and forth."""
    if not history:
        return None
    from matplotlib.ticker import MaxNLocator

    figure, ax = _figure()
    for name, marker in (("clean", "o"), ("gaussian", "s"), ("all", "s")):
        points = by_answers(history, name)
        if points:
            ax.plot(*zip(*points), marker=marker, label=name.capitalize())
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(left=0)
    ax.set(xlabel="expert answers applied", ylabel="test accuracy (%)", title="Accuracy against answers given")
    ax.legend(loc="best")
    replace_atomically(path, figure.savefig)
    return path


def plot_loss(history, path: Path) -> Path | None:
    points = [(m.epoch, m.loss) for m in history if m.loss is not None and not m.final]
    if not points:
        return None
    figure, ax = _figure()
    ax.plot(*zip(*points), marker="o")
    ax.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    replace_atomically(path, figure.savefig)
    return path


def plot_levels(table: dict, grid: list[float], path: Path) -> Path | None:
    if table is None:
        return None
    figure, ax = _figure()
    level, source = table["level"], table["source"]
    step = (grid[-1] - grid[0]) / max(len(grid) - 1, 1) or 0.1
    edges = [grid[0] - step / 2 + i * step for i in range(len(grid) + 1)]
    data, labels, colours = [], [], []
    for kind in Source:
        name = kind.name.lower()
        data.append(level[source == int(kind)].numpy())
        labels.append(f"{name} ({int((source == int(kind)).sum())})")
        colours.append(COLOURS[name])
    ax.hist(data, bins=edges, stacked=True, label=labels, color=colours)
    ax.set(xlabel="perturbation level", ylabel="training examples", title="Current levels by source")
    ax.legend()
    replace_atomically(path, figure.savefig)
    return path


def write_report(project, folder: Path, table: dict | None, warnings: list[str], result=None) -> list[Path]:
    """`result`: the finished run's result when the project is not marked finished yet (the
    export is written before the mark)."""
    settings = project.settings
    history = project.metrics_history()
    result = result or project.load_result()
    answers = project.answers(include_undone=True)
    live = [a for a in answers if not a["undone"]]
    plots = [
        ("Robustness curve", plot_curves(history, folder / "robustness.png")),
        ("Accuracy against answers given", plot_accuracy_vs_answers(history, folder / "accuracy_vs_answers.png")),
        ("Training loss", plot_loss(history, folder / "loss.png")),
        ("Levels", plot_levels(table, settings.grid, folder / "levels.png")),
    ]
    lines = [f"# AQPL Studio report: {project.path.name}", ""]
    status = "finished" if result else "in progress"
    if result and result.stopped_early:
        status = "stopped early"
    lines += [
        f"- method **{settings.method}**, strategy {settings.strategy}, {settings.mode} mode, seed {settings.seed}",
        f"- dataset {settings.dataset}, model {settings.model}, {settings.epochs} epochs, budget {settings.budget}",
        f"- status: {status}",
        f"- answers: {sum(a['level'] is not None for a in live)} given, "
        f"{sum(a['level'] is None for a in live)} skipped, {len(answers) - len(live)} undone",
        "",
        "## Results (top-1 accuracy, %)",
        "",
        "| row | accuracy |",
        "|---|---|",
    ]
    final = result or (history[-1] if history else None)
    if final is None:
        lines.append("| (no evaluation yet) | |")
    else:
        lines += [f"| Clean | {_percent(final.clean)} |", f"| Gaussian | {_percent(final.gaussian)} |", f"| All | {_percent(final.all)} |"]
    if result:
        lines += ["", f"Queries used: {result.queries_used} of {result.budget}; epochs done: {result.epochs_done}."]
        if result.suite:
            lines.append(f"Suite: {result.suite} ({result.suite_source}).")
    if final is not None and final.curve_levels:
        lines += ["", "| σ | " + " | ".join(f"{g:g}" for g in final.curve_levels) + " |",
                  "|---|" + "---|" * len(final.curve_levels),
                  "| accuracy | " + " | ".join(f"{a:.1f}" for a in final.curve_accuracy) + " |"]
    for title, path in plots:
        if path is not None:
            lines += ["", f"## {title}", "", f"![{title}]({path.name})"]
    if table is not None:
        counts = {s.name.lower(): int((table["source"] == int(s)).sum()) for s in Source}
        lines += ["", "Levels by source: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "."]
    if warnings:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in warnings]
    lines += ["", "## Settings", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in settings.to_dict().items() if v is not None]
    report = folder / "report.md"
    write_text_atomically(report, "\n".join(lines) + "\n")
    return [report] + [p for _, p in plots if p is not None]
