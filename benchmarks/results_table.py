"""One results table from several headless runs: a column per run folder, rows Clean /
Gaussian / All / Conform (mean ± std over the seeds each folder holds), plus the answers used
and the seeds, in Markdown; optionally the columns' robustness curves in one plot.

    python benchmarks/results_table.py "Standard=runs/fm/standard" "GNT=runs/fm/gnt" \\
        "AQPL-CAT, neighbours=runs/fm/aqpl-cat-neighbours" [--curves docs/curves.png]

Each folder is one headless run's `--out` holding one method (its results.json); the cells use
the same formatting as the run's own results.md (app/engine/report.py).
"""

import argparse
import json
from pathlib import Path

from app.engine.report import ROWS, _cell


def read_column(folder: str) -> dict:
    """The one method of a results.json (mean/std per row, curve, answers, seeds)."""
    results = json.loads((Path(folder) / "results.json").read_text())
    methods = results["methods"]
    if len(methods) != 1:
        raise SystemExit(f"{folder}: holds {len(methods)} methods; give a folder of one method")
    return next(iter(methods.values()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("columns", nargs="+", help="LABEL=folder")
    parser.add_argument("--curves", help="also plot the columns' mean robustness curves to this PNG")
    args = parser.parse_args(argv)

    columns = {}
    for spec in args.columns:
        label, folder = spec.split("=", 1)
        columns[label] = read_column(folder)
    print("| row | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for row in ROWS:
        title = "All" if row == "all" else row.capitalize()
        print(f"| {title} | " + " | ".join(_cell(c.get(row)) for c in columns.values()) + " |")
    answers = [c["queries_used"] for c in columns.values()]
    print("| answers | " + " | ".join(f"{sum(a) / len(a):,.0f}" for a in answers) + " |")
    print("| seeds | " + " | ".join(",".join(map(str, c["seeds"])) for c in columns.values()) + " |")

    if args.curves:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.4), dpi=110)
        for label, column in columns.items():
            ax.plot(column["curve_levels"], column["curve_accuracy"], marker="o", markersize=3, label=label)
        ax.set_xlabel("Gaussian noise σ")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.curves)
        print(f"wrote {args.curves}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
