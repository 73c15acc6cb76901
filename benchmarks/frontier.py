"""The frontier benchmark: every method's whole trade-off curve, not one setting.

    python benchmarks/frontier.py --dataset embedded --jobs 2                 # the full sweep
    python benchmarks/frontier.py --dataset fashion-mnist --families gnt,cat --jobs 2
    python benchmarks/frontier.py --dataset embedded --plot-only              # plots from the json

Each method has one strength parameter (GNT's σ, CAT's ε_max, AugMix's severity, AQPL's level
scale α); a point is one setting of it, run with every seed (default 0, 1, 2). A run is a
headless `python -m app --simulate-oracle` run in its own folder under --work, so an interrupted
sweep resumes where it stopped (finished runs are reused, interrupted ones resume from their
last checkpoint). Runs go to --jobs worker processes, one torch thread each, that import the app
once and serve many runs (each run's output in its folder's run.log).

It writes `docs/runs/frontier/<dataset>.json`: a list of points
`{"label", "family", "method", "params", "args", "seeds", "mean_level", "clean", "gaussian", "all",
"all_unimitated", "conform", "calibration": {...}, "seconds"}`, every metric as {"mean", "std"},
and `docs/runs/frontier/<dataset>.png`: Clean against Gaussian, All and Conform (and NLL under
Gaussian noise), one curve per family, error bars over seeds.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METRICS = ("clean", "gaussian", "all", "all_unimitated", "conform")
CALIBRATION_SETS = ("clean", "gaussian", "conform")
CALIBRATION_METRICS = ("nll", "ece", "acc90")
EVERY_LEVEL = ["--budget", "100%", "--queries-per-round", "1000000"]  # every example answered in round one
FIVE_PERCENT = ["--budget", "5%", "--propagate", "neighbours"]


def points() -> list[dict]:
    """Every point of every family: (label, family, method, the strength parameter, extra options)."""
    out = []

    def add(family, label, method, param, args, value):
        out.append({"label": label, "family": family, "method": method, "params": {param: value} if param else {},
                    "args": ["--method", method, *args]})

    add("standard", "standard", "standard", None, [], None)
    for sigma in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
        add("gnt", f"gnt-s{sigma}", "gnt", "gnt_sigma", ["--gnt-sigma", str(sigma)], sigma)
    for eps in (0.2, 0.4, 0.6, 0.7, 0.8, 1.0):
        add("cat", f"cat-e{eps}", "cat", "cat_eps_max", ["--cat-eps-max", str(eps)], eps)
    for severity in (1, 3, 6, 10):
        add("augmix", f"augmix-v{severity}", "standard", "augment_severity",
            ["--augment", "augmix", "--augment-severity", str(severity)], severity)
    add("trivialaugment", "trivialaugment", "standard", None, ["--augment", "trivialaugment"], None)
    for sigma in (0.2, 0.4, 0.6, 0.8):
        add("augmix-gnt", f"augmix-gnt-s{sigma}", "gnt", "gnt_sigma", ["--augment", "augmix", "--gnt-sigma", str(sigma)], sigma)
    for alpha in (0.5, 1.0, 1.5, 2.0, 2.5):
        add("every-level-gnt", f"ub-gnt-a{alpha}", "aqpl-gnt", "level_scale", [*EVERY_LEVEL, "--level-scale", str(alpha)], alpha)
    for alpha in (0.5, 1.0, 1.5, 2.0):
        add("every-level-cat", f"ub-cat-a{alpha}", "aqpl-cat", "level_scale", [*EVERY_LEVEL, "--level-scale", str(alpha)], alpha)
    for alpha in (1.0, 1.5, 2.0, 2.5):
        add("aqpl-gnt-5%", f"aqpl-gnt-nb-a{alpha}", "aqpl-gnt", "level_scale", [*FIVE_PERCENT, "--level-scale", str(alpha)], alpha)
    for alpha in (1.0, 1.5, 2.0):
        add("aqpl-cat-5%", f"aqpl-cat-nbl-a{alpha}", "aqpl-cat", "level_scale",
            [*FIVE_PERCENT, "--propagate-as", "level", "--level-scale", str(alpha)], alpha)
    # the variants of issue 21
    for alpha in (1.0, 1.5, 2.0, 2.5):
        add("aqpl-sigma-5%", f"aqpl-sigma-a{alpha}", "aqpl-sigma", "level_scale", ["--budget", "5%", "--level-scale", str(alpha)], alpha)
    for sigma in (0.4, 0.6, 0.8, 1.0):
        add("aqpl-soft-5%", f"aqpl-soft-s{sigma}", "aqpl-soft", "gnt_sigma", [*FIVE_PERCENT, "--gnt-sigma", str(sigma)], sigma)
    for sigma in (0.4, 0.6, 0.8, 1.0):
        add("every-level-soft", f"ub-soft-s{sigma}", "aqpl-soft", "gnt_sigma", [*EVERY_LEVEL, "--gnt-sigma", str(sigma)], sigma)
    for alpha in (1.0, 1.5, 2.0):
        add("aqpl-gnt-5%-mixed", f"aqpl-gnt-nb-mix-a{alpha}", "aqpl-gnt", "level_scale",
            [*FIVE_PERCENT, "--random-share", "0.5", "--level-scale", str(alpha)], alpha)
    for alpha in (1.0, 1.5, 2.0):
        add("aqpl-gnt-5%-random", f"aqpl-gnt-nb-rnd-a{alpha}", "aqpl-gnt", "level_scale",
            [*FIVE_PERCENT, "--strategy", "random", "--level-scale", str(alpha)], alpha)
    return out


# The decisive region on a full dataset (runs of minutes each): enough of every family to place
# the AQPL points against the peers' curves around the expert's own amount of noise.
DECISIVE = (
    # first the candidate against its neighbourhood on the GNT curve and random picks at equal budget
    "aqpl-gnt-nb-mix-a1.0", "gnt-s0.3", "gnt-s0.4", "gnt-s0.5", "aqpl-gnt-nb-rnd-a1.0", "aqpl-gnt-nb-a1.0",
    "standard", "augmix-v3", "augmix-gnt-s0.4", "gnt-s0.2", "gnt-s0.7", "ub-gnt-a1.0", "aqpl-sigma-a1.0",
    "cat-e0.4", "cat-e0.7", "cat-e1.0", "aqpl-gnt-nb-mix-a1.5", "aqpl-gnt-nb-rnd-a1.5", "ub-gnt-a1.5",
    "aqpl-sigma-a1.5", "augmix-gnt-s0.8", "aqpl-gnt-nb-a1.5",
)


def run_dir(work: Path, point: dict, seed: int) -> Path:
    return work / point["label"] / f"seed{seed}"


def result_of(work: Path, point: dict, seed: int) -> dict | None:
    path = run_dir(work, point, seed) / "results.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data["methods"][point["method"]]["runs"][0]


def command_of(point: dict, seed: int, dataset: str, extra: list[str], out: Path) -> list[str]:
    return ["--simulate-oracle", "--dataset", dataset, *point["args"], *extra,
            "--seeds", str(seed), "--eval-every", "0", "--quiet", "--out", str(out)]


def _start_worker() -> None:
    """A worker process of the pool: one torch thread; the app is imported once and serves many
    runs (a fresh process per run would pay the imports and the dataset load every time)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import torch

    torch.set_num_threads(1)


def _run_in_worker(argv: list[str], log_path: str) -> int:
    import contextlib

    from app.cli.main import main as cli_main

    with open(log_path, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        return cli_main(argv)


def run_one(work: Path, point: dict, seed: int, dataset: str, extra: list[str], log, pool=None) -> tuple[float, int]:
    out = run_dir(work, point, seed)
    argv = command_of(point, seed, dataset, extra, out)
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    if pool is not None:
        code = pool.submit(_run_in_worker, argv, str(out / "run.log")).result()
        tail = ""
    else:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, "-m", "app", *argv], cwd=ROOT, env=env, capture_output=True, text=True)
        code, tail = done.returncode, done.stderr.strip().splitlines()[-1:]
    seconds = time.perf_counter() - started
    log(f"{point['label']} seed {seed}: rc {code}, {seconds:.0f} s"
        + ("" if code == 0 else f"\n  python -m app {' '.join(argv)}\n  {tail or (out / 'run.log')}"))
    return seconds, code


def _stat(values: list[float | None]) -> dict | None:
    present = [v for v in values if v is not None]
    if len(present) < len(values) or not present:
        return None
    return {"mean": statistics.fmean(present), "std": statistics.stdev(present) if len(present) > 1 else 0.0}


def summarise(work: Path, point: dict, seeds: list[int]) -> dict | None:
    runs = [result_of(work, point, seed) for seed in seeds]
    if any(r is None for r in runs):
        return None
    entry = {k: point[k] for k in ("label", "family", "method", "params", "args")}
    entry["seeds"] = seeds
    entry["mean_level"] = _stat([r.get("mean_level") for r in runs])
    for metric in METRICS:
        entry[metric] = _stat([r.get(metric) for r in runs])
    entry["calibration"] = {
        s: {m: _stat([(r.get("calibration") or {}).get(s, {}).get(m) for r in runs]) for m in CALIBRATION_METRICS}
        for s in CALIBRATION_SETS
    }
    entry["queries_used"] = [r["queries_used"] for r in runs]
    entry["seconds"] = _stat([r["seconds"] for r in runs])
    return entry


PEERS = ("gnt", "augmix", "augmix-gnt", "cat")  # what a practitioner would pick instead: drawn bold
FOCUS = ("standard", "gnt", "augmix", "augmix-gnt", "trivialaugment", "every-level-gnt", "aqpl-gnt-5%",
         "aqpl-gnt-5%-mixed", "aqpl-gnt-5%-random", "aqpl-sigma-5%")
STYLE = {"standard": "black", "gnt": "#1f4e9c", "augmix": "#e07b00", "augmix-gnt": "#2e8b3a", "cat": "#8c564b",
         "trivialaugment": "#b8860b", "every-level-gnt": "#d62728", "aqpl-gnt-5%": "#9467bd",
         "aqpl-gnt-5%-mixed": "#e377c2", "aqpl-gnt-5%-random": "#7f7f7f", "aqpl-sigma-5%": "#17becf"}


def _param(entry: dict) -> float:
    return next(iter(entry["params"].values()), 0.0) or 0.0


def plot(entries: list[dict], path: Path, title: str, families=None, clean_above: float | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("gaussian", "Gaussian (%)"), ("all", "All (%)"), ("conform", "Conform (%)"),
              ("all_unimitated", "All without imitated corruptions (%)"), (("gaussian", "nll"), "NLL under Gaussian noise (lower: better)"),
              (("conform", "nll"), "NLL at conform levels (lower: better)")]
    fig, axes = plt.subplots(2, 3, figsize=(15, 9), dpi=110)
    order = [e["family"] for e in entries]
    names = sorted(set(order), key=order.index)
    if families is not None:
        names = [f for f in names if f in families]
    cmap = plt.get_cmap("tab20")
    for ax, (metric, name) in zip(axes.flat, panels):
        for i, family in enumerate(names):
            members = sorted((e for e in entries if e["family"] == family), key=_param)  # along the strength parameter
            xs, ys, xe, ye = [], [], [], []
            for e in members:
                value = e["calibration"][metric[0]][metric[1]] if isinstance(metric, tuple) else e[metric]
                if value is None or e["clean"] is None or (clean_above is not None and e["clean"]["mean"] < clean_above):
                    continue
                xs.append(value["mean"]); xe.append(value["std"])
                ys.append(e["clean"]["mean"]); ye.append(e["clean"]["std"])
            if not xs:
                continue
            bold = family in PEERS
            ax.errorbar(xs, ys, xerr=xe, yerr=ye, fmt="o-" if len(xs) > 1 else "o", markersize=4 if bold else 3,
                        capsize=2, linewidth=2.4 if bold else 1.1, color=STYLE.get(family, cmap(i % 20)), label=family,
                        zorder=3 if bold else 2)
        ax.set_xlabel(name)
        ax.set_ylabel("Clean (%)")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7, ncol=2)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--families", default="", help="comma-separated families to run (default: all)")
    parser.add_argument("--labels", default="", help="comma-separated point labels to run, or `decisive` (default: all of the families)")
    parser.add_argument("--work", default=None, help="run folders (default: runs/frontier/<dataset>)")
    parser.add_argument("--out", default=None, help="default: docs/runs/frontier/<dataset>.json")
    parser.add_argument("--plot-only", action="store_true")
    parser.add_argument("--subprocess", action="store_true", help="a fresh `python -m app` per run (default: a pool of workers)")
    parser.add_argument("--list", action="store_true", help="print the points and exit")
    parser.add_argument("extra", nargs="*", help="more options for every run, after --")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    work = Path(args.work or ROOT / "runs" / "frontier" / args.dataset)
    out = Path(args.out or ROOT / "docs" / "runs" / "frontier" / f"{args.dataset}.json")
    chosen = points()
    if args.families:
        wanted = set(args.families.split(","))
        chosen = [p for p in chosen if p["family"] in wanted]
    if args.labels:
        wanted = list(DECISIVE if args.labels == "decisive" else args.labels.split(","))
        chosen = sorted((p for p in chosen if p["label"] in wanted), key=lambda p: wanted.index(p["label"]))
    if args.list:
        for p in chosen:
            print(p["label"], p["family"], " ".join(p["args"]))
        return 0
    log_path = work / "frontier.log"
    work.mkdir(parents=True, exist_ok=True)

    def log(text: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {text}"
        print(line, flush=True)
        with open(log_path, "a") as f:
            f.write(line + "\n")

    if not args.plot_only:
        # seed by seed, the points in the order given: a sweep cut short still holds a whole frontier
        # (one seed of every point) instead of three seeds of its first points
        tasks = [(p, s) for s in seeds for p in chosen if result_of(work, p, s) is None]
        log(f"{len(tasks)} runs to do ({len(chosen)} points × {len(seeds)} seeds, the rest reused), {args.jobs} at a time")
        started = time.perf_counter()
        workers = None
        if not args.subprocess:
            from multiprocessing import get_context

            from concurrent.futures import ProcessPoolExecutor

            workers = ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"), initializer=_start_worker,
                                          max_tasks_per_child=20)  # a fresh process now and then: memory stays flat
        with ThreadPoolExecutor(args.jobs) as pool:
            pending = {pool.submit(run_one, work, p, s, args.dataset, args.extra, log, workers) for p, s in tasks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
                merge(out, [summarise(work, p, seeds) for p in chosen], args.dataset)
        if workers is not None:
            workers.shutdown()
        log(f"sweep done in {(time.perf_counter() - started) / 60:.1f} min")
    entries = merge(out, [summarise(work, p, seeds) for p in chosen], args.dataset)
    plot(entries, out.with_suffix(".png"), f"Frontiers on {args.dataset}: every family (mean ± std over seeds {args.seeds})")
    focus = out.with_name(out.stem + "-focus.png")
    plot(entries, focus, f"Frontiers on {args.dataset} around the expert's amount of noise (mean ± std over seeds {args.seeds}; "
         "bold: the peers)", families=FOCUS, clean_above=76)
    print(f"wrote {out}, {out.with_suffix('.png')} and {focus} ({len(entries)} points)")
    return 0


def merge(out: Path, fresh: list[dict | None], dataset: str) -> list[dict]:
    """Fold the finished points into the json (points of other families stay), in points() order."""
    existing = json.loads(out.read_text())["points"] if out.is_file() else []
    by_label = {e["label"]: e for e in existing}
    by_label.update({e["label"]: e for e in fresh if e is not None})
    order = {p["label"]: i for i, p in enumerate(points())}
    entries = sorted(by_label.values(), key=lambda e: order.get(e["label"], len(order)))
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/frontier.py --dataset " + dataset
    out.write_text(json.dumps({"dataset": dataset, "command": command, "points": entries}, indent=1))
    return entries


if __name__ == "__main__":
    raise SystemExit(main())
