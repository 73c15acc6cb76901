"""Tune the documented settings (σ for GNT, η and ε_max for CAT, warm-up, rounds) on a
validation split carved from the Fashion-MNIST *training* set, so that the test set that
the results table reports on is never used for choosing settings.

    python benchmarks/tune.py [--train 10000] [--val 5000] [--epochs 10] [--out runs/tune]

Prints one line per setting (Clean / Gaussian / All on the validation split) and writes
runs/tune/tune.json. One seed per setting: a screening, not the result.
"""

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch

from app.engine.corruptions import load_suite
from app.engine.data import load_dataset
from app.engine.data.dataset import Dataset
from app.engine.oracle import SimulatedOracle
from app.engine.settings import defaults_for
from app.engine.trainer import Trainer

GRID = {
    "gnt": [dict(gnt_sigma=s) for s in (0.3, 0.5, 0.7)],
    "cat": [dict(cat_eta=e, cat_eps_max=m) for e in (0.05, 0.1) for m in (0.6, 1.0)],
    "aqpl-cat": [dict(warmup_epochs=w, round_every=r) for w, r in ((1, 1), (2, 1), (3, 2))],
    "aqpl-gnt": [dict(warmup_epochs=w, round_every=r) for w, r in ((1, 1), (2, 1), (3, 2))],
}


def validation_split(train: int, val: int) -> Dataset:
    full = load_dataset("fashion-mnist")
    order = torch.randperm(len(full.train_x), generator=torch.Generator().manual_seed(1234))
    tr, va = order[:train], order[train : train + val]
    return Dataset(
        name=f"fashion-mnist-val{train}-{val}", train_x=full.train_x[tr], train_y=full.train_y[tr],
        test_x=full.train_x[va], test_y=full.train_y[va], classes=full.classes,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--val", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--methods", default=",".join(GRID))
    parser.add_argument("--out", default="runs/tune")
    args = parser.parse_args()
    data = validation_split(args.train, args.val)
    suite = load_suite(data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = defaults_for("gray", epochs=args.epochs, eval_every=0, budget="5%")
    oracle = SimulatedOracle(data, base.grid, base.reference_model, base.reference_epochs, torch.device("cpu"))
    oracle.levels()
    # a re-run keeps the rows already measured (the screening is long on a CPU)
    rows = json.loads((out / "tune.json").read_text()) if (out / "tune.json").exists() else []
    done = [{k: v for k, v in r.items() if k not in ("clean", "gaussian", "all", "queries", "seconds")} for r in rows]
    for method in args.methods.split(","):
        for overrides in GRID[method]:
            if {"method": method, **overrides} in done:
                continue
            settings = replace(base, method=method, **overrides)
            result = Trainer(settings, data, oracle=oracle if settings.uses_queries else None, suite=suite).run()
            row = {"method": method, **overrides, "clean": result.clean, "gaussian": result.gaussian, "all": result.all,
                   "queries": result.queries_used, "seconds": result.seconds}
            rows.append(row)
            print(json.dumps(row), flush=True)
            (out / "tune.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
