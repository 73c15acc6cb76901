"""Bundle benchmark: size (with its largest parts and what CUDA costs), build time, and start-up
times of the packaged app: to the first window, and to the first query on the embedded dataset.

    python benchmarks/bench_bundle.py --bundle ../build-aqpl-cpu/dist/aqpl-studio-cpu
    python benchmarks/bench_bundle.py --build                 # build first with packaging/build.sh, timed
    python benchmarks/bench_bundle.py --build --flavour cuda  # the CUDA bundle (default: cpu)
    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/bench_bundle.py --bundle B --platform xcb
    python benchmarks/bench_bundle.py --bundle B --repeats 5 --json bundle.json

Start-up is measured from outside: the wall time from starting the process to the line the
launcher's start-up probe prints (packaging/launcher.py, AQPL_STARTUP_PROBE): `first-window`
once the main window has painted, `first-query` once the query panel shows its first query in
watch mode (`--simulate-oracle --gui`, the simulated oracle answering; default settings, AQPL-CAT,
continuous mode). "cold" starts first evict the bundle's files from the page cache
(posix_fadvise DONTNEED on each file: what a first start after a reboot reads from disk, without
touching anything else on the machine); "warm" starts follow one another. The first query is
timed with an empty cache folder (the first run ever: it trains the simulated oracle's reference
model) and with the cache from that run (every later start). Each run gets its own settings,
data and cache folders. `--source` adds the same timings for `python packaging/launcher.py`
(from source, no bundle) for comparison.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


sys.path.insert(0, str(ROOT / "packaging"))
from bundle_size import bundle_size, size_lines  # noqa: E402  (one breakdown, shared with build.sh)


# -- start-up -------------------------------------------------------------------------------------
def evict_from_page_cache(folder: Path) -> int:
    """Drop the folder's files from the page cache (clean pages only); returns how many files."""
    count = 0
    for f in folder.rglob("*"):
        if f.is_file() and not f.is_symlink():
            try:
                fd = os.open(f, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                count += 1
            finally:
                os.close(fd)
    return count


def user_env(home: Path, platform: str, probe: str, cache: Path | None = None) -> dict:
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[name] = str(home / name.lower())
        (home / name.lower()).mkdir(parents=True, exist_ok=True)
    env["AQPL_CACHE_DIR"] = str(cache or home / "aqpl-cache")
    env["QT_QPA_PLATFORM"] = platform
    env["AQPL_STARTUP_PROBE"] = probe
    env.setdefault("AQPL_STARTUP_PROBE_TIMEOUT", "1800")
    env.pop("PYTHONPATH", None)
    return env


def timed_start(command: list[str], env: dict, until: str, timeout: float) -> dict:
    """Start `command`, return the wall time to each probe line and the exit status."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=env["XDG_DATA_HOME"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    seen: dict[str, float] = {}
    reported: dict[str, float] = {}
    try:
        for line in process.stdout:
            if line.startswith("AQPL_PROBE "):
                parts = line.split()
                seen[parts[1]] = time.perf_counter() - started
                if len(parts) == 3:
                    reported[parts[1]] = float(parts[2])
            if until in seen or "timeout" in seen:
                break
        rest_out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        rest_out, err = process.communicate()
    ended = time.perf_counter() - started
    return {"wall": seen, "reported": reported, "exit": process.returncode, "exit_s": round(ended, 2),
            "stderr_tail": err.strip().splitlines()[-3:] if process.returncode else []}


def app_command(bundle: Path | None) -> list[str]:
    return [str(bundle / "aqpl-studio")] if bundle else [sys.executable, str(ROOT / "packaging" / "launcher.py")]


def first_window(bundle: Path | None, platform: str, repeats: int, work: Path) -> dict:
    kinds = ("cold", "warm") if bundle else ("warm",)  # from source: the venv is not evicted
    runs = {kind: [] for kind in kinds}
    for i in range(repeats):
        for kind in kinds:
            if kind == "cold":
                evict_from_page_cache(bundle)
            home = work / f"window-{kind}-{i}"
            result = timed_start(app_command(bundle), user_env(home, platform, "window"), "first-window", 600)
            if result["exit"] != 0 or "first-window" not in result["wall"]:
                raise SystemExit(f"start failed ({kind}): {result}")
            runs[kind].append(result["wall"]["first-window"])
            print(f"  first window, {kind}: {result['wall']['first-window']:.2f} s", file=sys.stderr, flush=True)
    return {kind: summary(values) for kind, values in runs.items()}


def first_query(bundle: Path | None, platform: str, repeats: int, work: Path, args: list[str]) -> dict:
    """Watch mode on the embedded dataset: an empty cache (trains the reference model), then warm."""
    cache = work / "query-cache"
    shutil.rmtree(cache, ignore_errors=True)
    out = {}
    command = app_command(bundle) + ["--simulate-oracle", "--gui", "--dataset", "embedded", *args]
    for label, count in (("empty cache", 1), ("warm cache", repeats)):
        values, windows = [], []
        for i in range(count):
            home = work / f"query-{label.split()[0]}-{i}"
            result = timed_start(command, user_env(home, platform, "query", cache), "first-query", 3600)
            if result["exit"] != 0 or "first-query" not in result["wall"]:
                raise SystemExit(f"watch mode failed ({label}): {result}")
            values.append(result["wall"]["first-query"])
            windows.append(result["wall"]["first-window"])
            print(f"  first query, {label}: {values[-1]:.1f} s (window at {windows[-1]:.1f} s)", file=sys.stderr, flush=True)
        out[label] = {**summary(values), "first_window": summary(windows)}
    return out


def summary(values: list[float]) -> dict:
    return {"median_s": round(statistics.median(values), 2), "min_s": round(min(values), 2),
            "max_s": round(max(values), 2), "runs": [round(v, 2) for v in values]}


# -- main -----------------------------------------------------------------------------------------
def build(build_dir: Path | None, flavour: str) -> tuple[Path, dict]:
    env = dict(os.environ, AQPL_FLAVOUR=flavour)
    if build_dir:
        env["AQPL_BUILD_DIR"] = str(build_dir)
    started = time.perf_counter()
    done = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], env=env, text=True, capture_output=True)
    seconds = time.perf_counter() - started
    sys.stderr.write(done.stdout[-3000:])
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stderr[-3000:]}")
    bundle = Path(next(line.split(":", 1)[1].strip() for line in done.stdout.splitlines() if line.startswith("bundle:")))
    return bundle, {"build_seconds": round(seconds, 1)}


def machine() -> dict:
    import platform

    info = {"cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
    except ImportError:
        pass
    return info


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, help="a built bundle folder (dist/aqpl-studio-cpu or -cuda)")
    parser.add_argument("--build", action="store_true", help="build first with packaging/build.sh (timed)")
    parser.add_argument("--flavour", choices=("cpu", "cuda"), default="cpu", help="with --build: which bundle")
    parser.add_argument("--build-dir", type=Path, help="with --build: AQPL_BUILD_DIR")
    parser.add_argument("--platform", default="offscreen", help="Qt platform: offscreen (default) or xcb (needs a DISPLAY, e.g. xvfb-run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-query", action="store_true", help="skip the first-query timings (they train models)")
    parser.add_argument("--query-args", default="", help="extra options for the watch-mode run, e.g. '--reference-epochs 3'")
    parser.add_argument("--source", action="store_true", help="also time the start from source (python packaging/launcher.py)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    if args.platform == "xcb" and not os.environ.get("DISPLAY"):
        raise SystemExit("--platform xcb needs a DISPLAY: run under xvfb-run -a -s '-screen 0 1600x1000x24'")

    report: dict = {"machine": machine(), "platform": args.platform}
    bundle = args.bundle
    if args.build:
        bundle, report["build"] = build(args.build_dir, args.flavour)
    elif bundle is None:
        parser.error("give --bundle DIR or --build")
    bundle = bundle.resolve()
    info = bundle.parent.parent / "build-info.json"
    if "build" not in report and info.is_file():
        report["build"] = {"build_seconds": json.loads(info.read_text()).get("build_seconds"), "from": str(info)}
    report["size"] = bundle_size(bundle)
    if (bundle / "build-info.json").is_file():  # flavour and versions, written by build.sh
        report["bundle"] = json.loads((bundle / "build-info.json").read_text())

    work = Path(tempfile.mkdtemp(prefix="aqpl-bench-bundle-"))
    try:
        print("start to the first window (bundle):", file=sys.stderr)
        report["first_window"] = first_window(bundle, args.platform, args.repeats, work)
        if args.source:
            print("start to the first window (from source):", file=sys.stderr)
            report["first_window_source"] = first_window(None, args.platform, args.repeats, work)
        if not args.no_query:
            print("start to the first query (watch mode, bundle):", file=sys.stderr)
            report["first_query"] = first_query(bundle, args.platform, args.repeats, work, args.query_args.split())
            report["first_query_args"] = args.query_args
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


def print_report(report: dict) -> None:
    if report.get("bundle"):
        b = report["bundle"]
        print(f"bundle: {b.get('flavour')}, torch {b.get('torch')}, torchvision {b.get('torchvision')}, commit {b.get('commit')}")
    print("\n".join(size_lines(report["size"])))
    if report.get("build"):
        print(f"build: {report['build']['build_seconds']} s")
    for key, title in (("first_window", "first window (bundle)"), ("first_window_source", "first window (source)")):
        if key in report:
            print(f"{title}: " + ", ".join(f"{kind} {v['median_s']} s (min {v['min_s']}, max {v['max_s']})" for kind, v in report[key].items()))
    if "first_query" in report:
        print("first query (watch mode): " + ", ".join(f"{label} {v['median_s']} s" for label, v in report["first_query"].items()))
    print(f"machine: {report['machine']}, Qt platform {report['platform']}")


if __name__ == "__main__":
    raise SystemExit(main())
