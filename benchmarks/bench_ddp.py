"""Data-parallel training on the CPU: one run on 2 processes × 1 thread (torchrun, gloo)
against 1 process × 2 threads (and 1 process × 1 thread for reference), in the same run.

    python benchmarks/bench_ddp.py [--method gnt] [--epochs 2]

Both train the same run (embedded Fashion-MNIST subset, no suite, no live evaluation) from a
warm cache; the time per epoch is the trainer's own time (results.json `seconds`, which
includes the one final evaluation of 2,000 test images) divided by the epochs.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def run(out: Path, processes: int, threads: int, method: str, epochs: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes)] \
        if processes > 1 else [sys.executable]
    subprocess.run([*launcher, "-m", "app", "--simulate-oracle", "--quiet", "--method", method, "--epochs", str(epochs),
                    "--eval-every", "0", "--no-suite", "--seeds", "0", "--out", str(out)],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = json.loads((out / "results.json").read_text())["methods"][method]
    return result["runs"][0]["seconds"] / epochs, result["clean"]["mean"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", default="gnt")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        one, one_clean = run(tmp / "one", 1, 2, args.method, args.epochs)
        two, two_clean = run(tmp / "two", 2, 1, args.method, args.epochs)
        single, single_clean = run(tmp / "single", 1, 1, args.method, args.epochs)
    print(f"{args.method}, {args.epochs} epochs on the embedded set (6,000 images), {os.cpu_count()} cores")
    print(f"1 process  × 2 threads: {one:6.1f} s/epoch, clean {one_clean:.2f}")
    print(f"2 processes × 1 thread: {two:6.1f} s/epoch, clean {two_clean:.2f}")
    print(f"1 process  × 1 thread:  {single:6.1f} s/epoch, clean {single_clean:.2f}  (reference: what one core does)")
    print(f"ratio (2 processes / 1 process × 2 threads): {two / one:.2f}  (below 1: DDP is faster)")
    print(f"ratio (2 processes / 1 process × 1 thread):  {two / single:.2f}")


if __name__ == "__main__":
    main()
