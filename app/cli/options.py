"""Command-line options of the headless run (and of the GUI's watch mode)."""

import argparse

from app.engine.choices import CHOICES
from app.engine.data import DATASETS
from app.errors import SettingsError
from app.engine.settings import load_defaults

DEFAULTS = load_defaults("gray")  # help texts quote the one source of defaults (resources/defaults.toml)


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r} holds no seed: give at least one, e.g. --seeds 0 or --seeds 0,1,2")
    return values


# The method's numeric settings: (option, type, help). Their defaults come from resources/defaults.toml.
NUMBER_OPTIONS = (
    ("--epochs", int, "training epochs"),
    ("--batch-size", int, "examples per optimiser step"),
    ("--lr", float, "initial learning rate of SGD (cosine schedule)"),
    ("--grid", _floats, "candidate levels, e.g. 0,0.1,0.2,...,1.0"),
    ("--budget", str, "total queries: a count (300) or a share of the training set (5%%)"),
    ("--queries-per-round", int, "queries per round (0: the budget spread evenly over the rounds)"),
    ("--warmup-epochs", int, "epochs before the first query round"),
    ("--round-every", int, "epochs between two query rounds"),
    ("--gnt-sigma", float, "GNT: the noise level σ of every example"),
    ("--gnt-p-clean", float, "GNT: share of each batch trained clean"),
    ("--cat-eta", float, "CAT: step by which an example's level is raised"),
    ("--cat-eps-max", float, "CAT: the ceiling ε_max of every level"),
    ("--cat-smoothing", float, "CAT: label smoothing c per unit of level (default: 0.5 / ε_max)"),
    ("--annotator-noise", float, "probability an oracle answer is off by one grid step"),
    ("--eval-every", int, "epochs between live evaluations (0: only at the end)"),
    ("--oracle-tau", float, f"perceptual expert: similarity threshold τ (default fitted: {DEFAULTS['oracle_tau']:g})"),
    ("--oracle-blur", float, f"perceptual expert: blur of the eye in pixels (default {DEFAULTS['oracle_blur']:g})"),
    ("--reference-epochs", int, "noise-reference expert: epochs of the reference model"),
    ("--augment-severity", int, f"AugMix: severity of its operations, 1–10 (default {DEFAULTS['augment_severity']})"),
    ("--level-scale", float, f"relative levels: AQPL trains at α × the expert's level (default {DEFAULTS['level_scale']:g}; "
                             "1 trains at the answer itself)"),
    ("--random-share", float, "share of each round's picks drawn at random instead of by the strategy "
                              f"(default {DEFAULTS['random_share']:g})"),
    ("--soft-ramp", float, "AQPL-soft: the target is uniform this far (in σ) above the example's conform level"),
)


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
    run.add_argument("--oracle-pace", type=float, default=None, metavar="SECONDS",
                     help="the simulated expert answers like a person: one query every SECONDS of wall time, in "
                          "continuous mode with the GUI's pacing rules and extra epochs (0: as fast as queries come)")
    run.add_argument("--project", help="project folder for a single run: created if absent, resumed if present")
    run.add_argument("--out", default=None,
                     help="output folder (default: runs/latest; with --project: the project's summary/ folder)")
    run.add_argument("--seeds", type=_ints, default=None, help="comma-separated seeds, e.g. 0,1,2 (default: 0)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--jobs", type=_jobs, default=1, help="runs (method × seed) at a time, each in its own process: N, or "
                     "`auto` = cores ÷ threads per run ($OMP_NUM_THREADS, else 1) (default: 1)")

    # Options without a default here take theirs from resources/defaults.toml (per data family).
    data = p.add_argument_group("data and model")
    default_dataset = DEFAULTS["dataset"]
    data.add_argument("--dataset", choices=DATASETS, default=default_dataset, help=f"training data (default: {default_dataset})")
    data.add_argument("--data-dir", help="folder of the dataset (and of released -C suites)")
    data.add_argument("--image-size", type=int, help="imagefolder: resize all images to N×N")
    data.add_argument("--model", choices=CHOICES["model"], help="architecture (auto: small CNN for small grayscale images, else ResNet-18)")
    data.add_argument("--device", choices=CHOICES["device"], help="where to train (auto: a GPU if there is one)")
    data.add_argument("--precision", choices=CHOICES["precision"], help="training steps: auto (bf16 autocast on CUDA, fp32 on the CPU), bf16, fp32")

    method = p.add_argument_group("method")
    method.add_argument("--method", choices=(*CHOICES["method"], "all"), help="level policy, or `all` for the paper's five (default: all)")
    method.add_argument("--preset", choices=("gui",),
                        help="start from the settings a new GUI session starts with (then the options given override them)")
    method.add_argument("--augment", choices=CHOICES["augment"],
                        help="augment every training image (torchvision v2, per example, before the noise): "
                             + ", ".join(CHOICES["augment"]))
    method.add_argument("--unanswered-ceiling", choices=CHOICES["unanswered_ceiling"],
                        help="AQPL-CAT: unanswered examples rise to ε_max (the paper) or to the answers' 90th percentile")
    method.add_argument("--sigma-statistic", help="AQPL-σ: one σ from the answers: mean or a quantile, e.g. q0.75 "
                        f"(default {DEFAULTS['sigma_statistic']})")
    method.add_argument("--strategy", choices=CHOICES["strategy"],
                        help=f"how a round picks its queries (default: {DEFAULTS['strategy']})")
    method.add_argument("--mode", choices=CHOICES["mode"], help="synchronous: training waits for each round's answers; continuous: it goes on")
    for flag, kind, text in NUMBER_OPTIONS:
        method.add_argument(flag, type=kind, help=text)
    method.add_argument("--propagate", choices=CHOICES["propagate"],
                        help="after each round predict levels of unanswered examples: per class or from the learner's "
                             f"nearest neighbours (default {DEFAULTS['propagate']}; none is the paper)")
    method.add_argument("--propagate-as", choices=CHOICES["propagate_as"],
                        help="AQPL-CAT: a propagated level is the example's ceiling, CAT adapting below it, or its level, "
                             f"like an answer (default {DEFAULTS['propagate_as']})")
    method.add_argument("--idle-finish-s", type=float, help="continuous mode with an expert (GUI): idle seconds that start the final epochs")
    method.add_argument("--oracle-recipe", choices=CHOICES["oracle_recipe"],
                        help="simulated expert: " + " or ".join(map(CHOICES["oracle_recipe"].label, CHOICES["oracle_recipe"]))
                             + f" (default {DEFAULTS['oracle_recipe']})")
    method.add_argument("--no-suite", action="store_true", help="skip the corruption suite (All is reported as missing)")
    method.add_argument("--onnx", action="store_true",
                        help="also export each run's model as ONNX (export/model.onnx; about 5 s a run, more than an epoch of the small CNN)")
    return p


SETTING_OPTIONS = (
    "dataset", "data_dir", "image_size", "model", "device", "strategy", "mode", "epochs", "batch_size", "lr",
    "grid", "budget", "queries_per_round", "warmup_epochs", "round_every", "gnt_sigma", "gnt_p_clean",
    "cat_eta", "cat_eps_max", "cat_smoothing", "annotator_noise", "eval_every", "idle_finish_s", "reference_epochs",
    "oracle_recipe", "oracle_tau", "oracle_blur", "propagate", "propagate_as", "precision",
    "augment", "augment_severity", "level_scale", "random_share", "unanswered_ceiling", "sigma_statistic", "soft_ramp",
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
