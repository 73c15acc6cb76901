"""Where one headless run's time goes: start-up, data, suite, oracle, training batches, pool
scoring, the clean feature pass of propagation, the final evaluation's parts, the export.

    OMP_NUM_THREADS=1 python benchmarks/bench_run_split.py                      # AQPL-GNT, neighbours, embedded
    OMP_NUM_THREADS=1 python benchmarks/bench_run_split.py --dataset fashion-mnist -- --method gnt

It runs `python -m app --simulate-oracle ...` in this process with timers wrapped around the
engine's functions (nothing else changes), and prints each part in seconds and as a share of
the whole. Numbers, not pass/fail: on a shared 2-core machine run it when the machine is idle.
"""

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

STARTED = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

spent: dict[str, float] = defaultdict(float)
calls: dict[str, int] = defaultdict(int)


def timed(owner, name: str, label: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - started
            calls[label] += 1

    setattr(owner, name, wrapper)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("extra", nargs="*", help="options for the run, after --")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from app.cli import headless
    from app.cli.main import main as cli_main
    from app.engine import assessment, rounds, trainer

    imported = time.perf_counter() - STARTED
    timed(headless, "load_dataset", "load the dataset")
    timed(headless, "load_suite_for", "load the suite and conform levels")
    timed(headless, "make_oracle", "prepare the simulated expert")
    timed(trainer.Trainer, "train_batch", "training batches")
    timed(rounds.QueryRounds, "score_pool", "pool scoring (incl. captured features)")
    timed(rounds.QueryRounds, "_features_of_all", "propagation's clean feature pass")
    timed(assessment, "robustness_curve", "evaluation: robustness curve")
    timed(assessment, "suite_scores", "evaluation: suite (Gaussian, All)")
    timed(assessment, "scored", "evaluation: clean and conform with calibration")
    from app.engine.project.project import Project

    timed(Project, "export", "export (levels.csv, model.pt2)")
    out = tempfile.mkdtemp(prefix="aqpl-split-")
    extra = args.extra or ["--method", "aqpl-gnt", "--propagate", "neighbours"]
    code = cli_main(["--simulate-oracle", "--dataset", args.dataset, "--seeds", "0", "--eval-every", "0", "--quiet",
                     "--out", out, *extra])
    total = time.perf_counter() - STARTED
    print(f"\nwhere the time of one run goes ({' '.join(extra)}, {args.dataset}, "
          f"{torch.get_num_threads()} thread(s)); total {total:.1f} s")
    rows = [("start-up (imports)", imported, 1)] + [(k, v, calls[k]) for k, v in spent.items()]
    accounted = sum(v for _, v, _ in rows)
    rows.append(("the rest (reports, checkpoints, rounds' bookkeeping)", total - accounted, 1))
    for label, seconds, count in rows:
        print(f"  {label:<55} {seconds:7.1f} s  {100 * seconds / total:5.1f} %  ({count} call{'s' if count != 1 else ''})")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
