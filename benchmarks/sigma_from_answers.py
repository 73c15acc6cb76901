"""How many answers does it take to know the dataset's σ? (AQPL-σ, the cheapest use of an expert)

    python benchmarks/sigma_from_answers.py --dataset embedded
    python benchmarks/sigma_from_answers.py --dataset fashion-mnist --runs runs/frontier/fashion-mnist/aqpl-sigma-a1.0

The all-examples value is the mean conform level of the whole training set by the calibrated
simulated expert. For n answers it prints how often the mean of n answers lies within ±0.05 of
it: for answers drawn at random (1,000 draws per n), and for the answers that runs actually got,
in the order they were given (conformity's picks; one curve per run folder given), since a
strategy's picks need not be a fair sample.
"""

import argparse
import sqlite3
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES = (5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 3000)
TOLERANCE = 0.05


def expert_levels(dataset_name: str) -> torch.Tensor:
    from app.engine.data import load_dataset
    from app.engine.oracle import PerceptualOracle
    from app.engine.settings import defaults_for

    dataset = load_dataset(dataset_name)
    settings = defaults_for(dataset.family)
    return PerceptualOracle(dataset, settings.grid, settings.oracle_tau, settings.oracle_blur).levels()


def run_answers(folder: Path) -> list[float]:
    """The answers of every run under `folder`, in the order given (answers.sqlite)."""
    out = []
    for path in sorted(folder.rglob("answers.sqlite")):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(answers)")}
            order = "id" if "id" in columns else "rowid"
            rows = db.execute(f"SELECT level FROM answers WHERE level IS NOT NULL AND undone = 0 ORDER BY {order}").fetchall()
        out.append([float(r[0]) for r in rows])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("--runs", nargs="*", default=[], help="run folders whose recorded answers to check (in order given)")
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args(argv)
    levels = expert_levels(args.dataset)
    target = float(levels.mean())
    print(f"{args.dataset}: {len(levels)} examples, mean conform level {target:.3f}; within ±{TOLERANCE} of it:")
    generator = torch.Generator().manual_seed(0)
    print(f"{'answers':>8}  {'random picks':>12}  {'|error| p90':>11}")
    for n in SIZES:
        if n > len(levels):
            break
        means = torch.stack([levels[torch.randperm(len(levels), generator=generator)[:n]].mean() for _ in range(args.draws)])
        error = (means - target).abs()
        print(f"{n:>8}  {100 * float((error <= TOLERANCE).float().mean()):>11.1f}%  {float(error.quantile(0.9)):>11.3f}")
    for folder in args.runs:
        for k, answers in enumerate(run_answers(Path(folder))):
            cells = []
            for n in SIZES:
                if n <= len(answers):
                    mean = sum(answers[:n]) / n
                    cells.append(f"{n}: {mean - target:+.3f}")
            print(f"{folder} run {k} (first n answers, mean − target): " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
