"""A long expert session: does anything grow? Resident memory, file handles, threads and the
reference count of None over an hour of the GUI's default session, the simulated expert
answering through the query panel at a person's pace, live evaluations on, a full repaint of
the window every 10 ms.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_soak.py --seconds 3600 --answer-ms 6000
    python benchmarks/bench_soak.py --from soak.json          # print the curve of an earlier run

It runs tests/soak_driver.py (the soak test's driver) in its own process and prints one line per
`--every` seconds, then the verdicts: memory growth after the first ten minutes (goal ≤ 5 %),
handles and threads at the end against after ten minutes (goal: no growth), None's count.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTLE_S = 600  # the first ten minutes: caches, the first evaluations, the queue filling


def report(soak: dict, every: float) -> int:
    samples = soak["samples"]
    print(f"{soak['seconds']:.0f} s session, an answer every {soak['answer_ms'] / 1000:g} s, a repaint every "
          f"{soak['frame_ms']} ms: {soak['frames']:,} repaints, {soak['answers_in_project']} answers in the project, "
          f"exit {soak['exit']}")
    print(f"{'t (s)':>7} {'answers':>8} {'RSS MiB':>8} {'files':>6} {'threads':>8} {'None refs':>10}")
    next_t = 0.0
    for s in samples:
        if s["t"] >= next_t or s is samples[-1]:
            print(f"{s['t']:>7.0f} {s['answers']:>8} {s['rss_mib']:>8.1f} {s['open_files']:>6} {s['threads']:>8} {s['none_refs']:>10}")
            next_t = s["t"] + every
    settled = [s for s in samples if s["t"] >= min(SETTLE_S, samples[-1]["t"] / 2)]
    base, last = settled[0], samples[-1]
    peak = max(s["rss_mib"] for s in settled)
    growth = 100 * (peak - base["rss_mib"]) / base["rss_mib"]
    print(f"\nresident memory after {base['t']:.0f} s: {base['rss_mib']:.0f} MiB; peak later {peak:.0f} MiB "
          f"(+{growth:.1f} %, goal ≤ 5 %)")
    print(f"open files {base['open_files']} → {last['open_files']}, threads {base['threads']} → {last['threads']} "
          f"(goal: no growth)")
    print(f"references to None {samples[0]['none_refs']:,} → {last['none_refs']:,} (a leaking Qt binding loses "
          "hundreds a repaint)")
    ok = growth <= 5 and last["open_files"] <= base["open_files"] + 2 and last["threads"] <= base["threads"] + 2
    return 0 if ok and soak["exit"] == 0 else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3600)
    parser.add_argument("--answer-ms", type=int, default=6000)
    parser.add_argument("--every", type=float, default=300, help="print a line every this many seconds")
    parser.add_argument("--json", help="keep the samples here")
    parser.add_argument("--from", dest="source", help="print an earlier run's json instead of running")
    args = parser.parse_args(argv)
    if args.source:
        return report(json.loads(Path(args.source).read_text()), args.every)
    out = Path(args.json or Path(tempfile.mkdtemp()) / "soak.json")
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "soak_driver.py"), "--seconds", str(args.seconds),
                           "--answer-ms", str(args.answer_ms), "--out", str(out)], env=env)
    if done.returncode != 0 and not out.exists():
        print(f"the session died (exit {done.returncode})")
        return 1
    return report(json.loads(out.read_text()), args.every)


if __name__ == "__main__":
    raise SystemExit(main())
