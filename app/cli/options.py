"""Command-line options of the headless run (and of the GUI's watch mode)."""

import argparse

from app.engine.data import DATASETS
from app.engine.errors import SettingsError
from app.engine.settings import DEVICES, METHODS, MODES, ORACLE_RECIPES, PRECISIONS, PROPAGATIONS, STRATEGIES
from models import MODELS


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None


def _jobs(text: str):
    if text.strip().lower() == "auto":
        return "auto"
    if text.strip().isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"--jobs {text!r} is not a number of processes: give N ≥ 1, or auto")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # argparse's own messages are already one line; keep the exit code 2, drop the usage dump
        raise SettingsError(f"{message} (see `python -m app --help`)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="aqpl-studio",
        description="AQPL Studio: train image classifiers that stay accurate under corruption. "
        "With no options it opens the application (or, without a display, runs the headless demo). "
        "Subcommands: `corrupt` (write a corruption suite), `gallery` (corruption × severity image).",
    )
    run = p.add_argument_group("run")
    run.add_argument("--simulate-oracle", action="store_true", help="run headless with an oracle instead of an expert")
    run.add_argument("--gui", action="store_true", help="with --simulate-oracle: watch the simulated oracle answer in the window")
    run.add_argument("--oracle", choices=("simulated", "replay"), default="simulated", help="where answers come from (default: simulated)")
    run.add_argument("--answers", help="replay oracle: a project's answers.sqlite, an answers CSV, or a levels file")
    run.add_argument("--project", help="project folder for a single run: created if absent, resumed if present")
    run.add_argument("--out", default="runs/latest", help="output folder (default: runs/latest)")
    run.add_argument("--seeds", type=_ints, default=None, help="comma-separated seeds, e.g. 0,1,2 (default: 0)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--jobs", type=_jobs, default=1, help="runs (method × seed) at a time, each in its own process: N, or "
                     "`auto` = cores ÷ threads per run ($OMP_NUM_THREADS, else 1) (default: 1)")

    data = p.add_argument_group("data and model")
    data.add_argument("--dataset", choices=DATASETS, default="embedded")
    data.add_argument("--data-dir", help="folder of the dataset (and of released -C suites)")
    data.add_argument("--image-size", type=int, help="imagefolder: resize all images to N×N")
    data.add_argument("--model", choices=MODELS)
    data.add_argument("--device", choices=DEVICES)
    data.add_argument("--precision", choices=PRECISIONS, help="training steps: auto (bf16 autocast on CUDA, fp32 on the CPU), bf16, fp32")

    method = p.add_argument_group("method")
    method.add_argument("--method", choices=METHODS + ("all",), help="level policy, or `all` for the five (default: all)")
    method.add_argument("--strategy", choices=STRATEGIES)
    method.add_argument("--mode", choices=MODES)
    method.add_argument("--epochs", type=int)
    method.add_argument("--batch-size", type=int)
    method.add_argument("--lr", type=float)
    method.add_argument("--grid", type=_floats, help="candidate levels, e.g. 0,0.1,0.2,...,1.0")
    method.add_argument("--budget", help="total queries: a count (300) or a share of the training set (5%%)")
    method.add_argument("--queries-per-round", type=int)
    method.add_argument("--warmup-epochs", type=int)
    method.add_argument("--round-every", type=int)
    method.add_argument("--gnt-sigma", type=float)
    method.add_argument("--gnt-p-clean", type=float)
    method.add_argument("--cat-eta", type=float)
    method.add_argument("--cat-eps-max", type=float)
    method.add_argument("--cat-smoothing", type=float)
    method.add_argument("--annotator-noise", type=float, help="probability an oracle answer is off by one grid step")
    method.add_argument("--eval-every", type=int)
    method.add_argument("--propagate", choices=PROPAGATIONS,
                        help="after each round predict levels of unanswered examples: per class or from the learner's nearest neighbours (default none: the paper)")
    method.add_argument("--oracle-recipe", choices=ORACLE_RECIPES,
                        help="simulated expert: 'perceptual' (calibrated on hand-given answers, default) or 'noise-reference' (the first recipe)")
    method.add_argument("--oracle-tau", type=float, help="perceptual expert: similarity threshold τ (default fitted: 0.9227)")
    method.add_argument("--oracle-blur", type=float, help="perceptual expert: blur of the eye in pixels (default 1)")
    method.add_argument("--reference-epochs", type=int, help="noise-reference expert: epochs of the reference model")
    method.add_argument("--no-suite", action="store_true", help="skip the corruption suite (All is reported as missing)")
    return p


SETTING_OPTIONS = (
    "dataset", "data_dir", "image_size", "model", "device", "strategy", "mode", "epochs", "batch_size", "lr",
    "grid", "budget", "queries_per_round", "warmup_epochs", "round_every", "gnt_sigma", "gnt_p_clean",
    "cat_eta", "cat_eps_max", "cat_smoothing", "annotator_noise", "eval_every", "reference_epochs",
    "oracle_recipe", "oracle_tau", "oracle_blur", "propagate", "precision",
)


def setting_overrides(args: argparse.Namespace) -> dict:
    """The options that are Settings fields, where the user gave them (for the GUI and projects:
    `--method all` and several seeds only mean something to the headless run)."""
    overrides = {name: getattr(args, name) for name in SETTING_OPTIONS if getattr(args, name) is not None}
    if args.method not in (None, "all"):
        overrides["method"] = args.method
    if args.seeds:
        overrides["seed"] = args.seeds[0]
    return overrides
