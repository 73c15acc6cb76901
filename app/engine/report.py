"""Results across methods and seeds: the paper-shaped table (rows Clean / Gaussian / All /
Conform, one column per method, mean ± std over seeds; the value alone for one seed, where no
spread was measured), results.json, results.md and the curves PNG."""

import json
import math
import statistics
from dataclasses import asdict
from pathlib import Path

from app.engine.atomic import replace_atomically, write_text_atomically
from app.engine.methods import METHODS
from app.engine.result import RunResult

ROWS = ("clean", "gaussian", "all", "conform")


def _mean_std(values: list[float | None]) -> tuple[float, float] | None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    if not present or len(present) < len(values):
        return None  # a metric missing for any seed is reported as missing, never as a number
    return statistics.fmean(present), statistics.stdev(present) if len(present) > 1 else 0.0


def summarise(results: dict[str, list[RunResult]]) -> dict:
    """Per method: mean/std of each row, the mean curve, queries used, per-corruption means."""
    summary = {}
    for method, runs in results.items():
        entry = {"seeds": [r.seed for r in runs]}
        for row in ROWS:
            stats = _mean_std([getattr(r, row) for r in runs])
            entry[row] = None if stats is None else {"mean": stats[0], "std": stats[1], "n": len(runs)}
        entry["curve_levels"] = runs[0].curve_levels
        entry["curve_accuracy"] = [statistics.fmean(acc) for acc in zip(*(r.curve_accuracy for r in runs))]
        entry["queries_used"] = [r.queries_used for r in runs]
        names = runs[0].per_corruption.keys()
        entry["per_corruption"] = {n: statistics.fmean(r.per_corruption.get(n, math.nan) for r in runs) for n in names}
        entry["suite"] = runs[0].suite
        entry["suite_source"] = runs[0].suite_source
        summary[method] = entry
    return summary


def _missing_for_nan(value):
    """JSON has no NaN (Python writes a bare `NaN` that strict readers refuse): a value that
    could not be measured is written as null, i.e. missing."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _missing_for_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_missing_for_nan(v) for v in value]
    return value


def _cell(stat: dict | None) -> str:
    if stat is None:
        return "missing"
    if stat.get("n", 2) == 1:
        return f"{stat['mean']:.2f}"  # "± 0.00" would read as a measured spread of zero
    return f"{stat['mean']:.2f} ± {stat['std']:.2f}"


def spread_note(summary: dict) -> str:
    seeds = summary[next(iter(summary))]["seeds"]
    if len(seeds) == 1:
        return f"one seed ({seeds[0]}), n = 1: no spread measured"
    return f"mean ± std over seeds {seeds}"


def table_rows(summary: dict) -> tuple[list[str], list[list[str]]]:
    header = [""] + [METHODS.title(m) for m in summary]
    rows = [[row.capitalize() if row != "all" else "All"] + [_cell(summary[m][row]) for m in summary] for row in ROWS]
    return header, rows


def text_table(summary: dict) -> str:
    header, rows = table_rows(summary)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    caption = f"Top-1 accuracy (%), {spread_note(summary)}"
    return "\n".join([caption, line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def markdown_table(summary: dict) -> str:
    header, rows = table_rows(summary)
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def plot_curves(summary: dict, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for method, entry in summary.items():
        ax.plot(entry["curve_levels"], entry["curve_accuracy"], marker="o", markersize=3, label=METHODS.title(method))
    ax.set_xlabel("Gaussian noise σ")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    replace_atomically(path, fig.savefig)
    plt.close(fig)
    return path


def write_reports(results: dict[str, list[RunResult]], out: Path, settings: dict, dataset: str) -> dict:
    summary = summarise(results)
    payload = {
        "dataset": dataset,
        "settings": settings,
        "methods": {
            method: {**summary[method], "runs": [asdict(r) for r in runs]} for method, runs in results.items()
        },
    }
    any_run = next(iter(results.values()))[0]
    lines = [
        f"# AQPL results: {dataset}",
        "",
        f"Top-1 accuracy (%), {spread_note(summary)}; "
        f"suite: {any_run.suite or 'none'} ({any_run.suite_source or 'not evaluated'}).",
        "",
        markdown_table(summary),
        "",
        "Queries used per seed: " + "; ".join(f"{METHODS.title(m)} {s['queries_used']}" for m, s in summary.items()),
        "",
        "![robustness curves](curves.png)",
        "",
        "Settings: `" + json.dumps(settings) + "`",
    ]
    write_text_atomically(out / "results.md", "\n".join(lines) + "\n")
    plot_curves(summary, out / "curves.png", f"Robustness curves: {dataset}")
    # results.json last: it marks the folder's summary as complete
    write_text_atomically(out / "results.json", json.dumps(_missing_for_nan(payload), indent=2, allow_nan=False))
    return summary
