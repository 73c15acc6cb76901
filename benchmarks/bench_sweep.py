"""A parallel sweep against a serial one, in the same run: wall time of the five-method demo
(embedded Fashion-MNIST subset, one seed, simulated oracle) with --jobs 2 and with --jobs 1.

    python benchmarks/bench_sweep.py [--epochs 10] [--jobs 2]

The shared caches (suite, reference model, conform levels) are filled first and not timed:
both sides then start from the same warm cache. --jobs 1 uses torch's default thread count
(all cores), --jobs N gives each worker cores ÷ N threads, so both sides use the whole machine.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(out: Path, jobs: int, epochs: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "app", "--simulate-oracle", "--quiet", "--epochs", str(epochs),
                    "--seeds", "0", "--out", str(out), "--jobs", str(jobs)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("filling the caches (not timed) ...", flush=True)
        run(tmp / "warm", 1, 1)
        parallel = run(tmp / "parallel", args.jobs, args.epochs)
        serial = run(tmp / "serial", 1, args.epochs)
        same = all(
            json.loads((tmp / side / "results.json").read_text())["methods"][m]["clean"]
            == json.loads((tmp / "serial" / "results.json").read_text())["methods"][m]["clean"]
            for side in ("parallel",) for m in ("standard", "gnt", "cat", "aqpl-gnt", "aqpl-cat")
        )
    print(f"five-method demo, {args.epochs} epochs, {os.cpu_count()} cores")
    print(f"--jobs 1:          {serial:7.1f} s")
    print(f"--jobs {args.jobs}:          {parallel:7.1f} s")
    print(f"ratio jobs{args.jobs}/jobs1: {parallel / serial:7.2f}  (below 1: the parallel sweep is faster)")
    print(f"same Clean for every method: {same} (threads differ: 1 vs {os.cpu_count()} per run, so tiny differences are possible)")


if __name__ == "__main__":
    main()
