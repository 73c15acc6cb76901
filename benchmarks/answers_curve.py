"""Accuracy against the number of answers: what each answer buys.

    python benchmarks/answers_curve.py --out docs/answers_curve.png \
        --curve "AQPL-CAT, neighbours=runs/curve-b0.5,runs/curve-b1,runs/aqpl-cat-neighbours,runs/curve-b20" \
        --line GNT=runs/gnt --line CAT=runs/cat --line Standard=runs/standard

Each --curve folder is one headless run's `--out` (its results.json gives the answers used and
the rows); each --line folder is a method that asks nothing, drawn as a horizontal line. With
`--seed K` every folder contributes its seed-K run alone (a curve of one seed throughout, even
where a folder holds three); without it, the folder's mean over its seeds. Prints the table
(Markdown) and writes one panel per row (Clean, Gaussian, All, Conform).
"""

import argparse
import json
from pathlib import Path

ROWS = ("clean", "gaussian", "all", "conform")


def read_run(folder: str, seed: int | None = None) -> dict:
    """The first method of a results.json: its rows and the answers it used (one seed's run, or
    the mean over the folder's seeds)."""
    results = json.loads((Path(folder) / "results.json").read_text())
    method = next(iter(results["methods"].values()))
    if seed is not None:
        run = next((r for r in method["runs"] if r["seed"] == seed), None)
        if run is None:
            raise SystemExit(f"{folder} has no run with seed {seed} (seeds {method['seeds']})")
        values = {row: run[row] for row in ROWS if run.get(row) is not None}
        values["answers"] = run["queries_used"]
        return values
    values = {row: method[row]["mean"] for row in ROWS if isinstance(method.get(row), dict)}
    values["answers"] = sum(method["queries_used"]) / len(method["queries_used"])
    return values


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curve", action="append", default=[], help="LABEL=folder,folder,...")
    parser.add_argument("--line", action="append", default=[], help="LABEL=folder (a method without queries)")
    parser.add_argument("--train-size", type=int, default=60_000)
    parser.add_argument("--out", default="answers_curve.png")
    parser.add_argument("--seed", type=int, help="every folder's run of this seed alone (default: each folder's mean)")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {}
    for spec in args.curve:
        label, folders = spec.split("=", 1)
        curves[label] = sorted((read_run(f, args.seed) for f in folders.split(",")), key=lambda r: r["answers"])
    lines = {label: read_run(folder, args.seed) for label, folder in (spec.split("=", 1) for spec in args.line)}

    header = "| answers (share of the training set) | " + " | ".join(r.capitalize() if r != "all" else "All" for r in ROWS) + " |"
    print(header)
    print("|---|" + "---|" * len(ROWS))
    for label, runs in curves.items():
        for run in runs:
            share = 100 * run["answers"] / args.train_size
            cells = " | ".join(f"{run[r]:.2f}" if r in run else "—" for r in ROWS)
            print(f"| {label}: {run['answers']:,.0f} ({share:g}%) | {cells} |")
    for label, run in lines.items():
        print(f"| {label} (asks nothing) | " + " | ".join(f"{run[r]:.2f}" if r in run else "—" for r in ROWS) + " |")

    figure, axes = plt.subplots(1, len(ROWS), figsize=(4 * len(ROWS), 3.4), constrained_layout=True)
    colours = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#6b7280")
    for ax, row in zip(axes, ROWS):
        for colour, (label, runs) in zip(colours, curves.items()):
            points = [(100 * r["answers"] / args.train_size, r[row]) for r in runs if row in r]
            ax.plot(*zip(*points), marker="o", color=colour, label=label)
        for i, (label, run) in enumerate(lines.items()):
            if row in run:
                ax.axhline(run[row], color=colours[(len(curves) + i) % len(colours)], linestyle="--", linewidth=1, label=label)
        ax.set_xscale("log")
        shares = sorted({100 * r["answers"] / args.train_size for runs in curves.values() for r in runs})
        ax.set_xticks(shares, [f"{x:g}" for x in shares])
        ax.minorticks_off()
        ax.set_xlabel("answers, % of the training set")
        ax.set_title(row.capitalize() if row != "all" else "All")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy %")
    axes[-1].legend(fontsize=8, loc="best")
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
