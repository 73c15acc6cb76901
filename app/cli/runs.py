"""One method × seed of a headless run, as a project: the suite and the simulated expert it
needs, the run itself (resumed, or its stored result reused), and its exports copied beside
the others. The serial run (app/cli/headless.py), a sweep's workers (app/cli/sweep.py) and the
ranks of a distributed run (app/cli/ddp.py) all use these."""

import shutil
from dataclasses import replace
from pathlib import Path

from app.cli.console import BarCallbacks, Console, StepBar
from app.engine.atomic import replace_atomically
from app.engine.methods import METHODS
from app.engine.oracle import NoisyOracle, PerceptualOracle, ReplayOracle, make_simulated_oracle
from app.engine.oracle.paced import PacedExpert
from app.engine.project import Project
from app.engine.settings import Settings, defaults_for
from app.errors import SettingsError

DEFAULT_OUT = "runs/latest"
EXPORTS = ("levels.csv", "model.pt2")  # what a finished run's export must hold (the summary copies them)


def load_suite_for(dataset, quiet: bool, console: Console):
    """The corruption suite for Gaussian and All (the released files, or generated once and cached)."""
    from app.engine.corruptions import load_suite

    loaded = load_suite(dataset, progress=StepBar(quiet))
    if loaded.get("note"):
        console.say(f"note: {loaded['note']}")
    # Conform: every test image at its own conform level by the calibrated simulated expert
    settings = defaults_for(dataset.family)
    loaded["conform_levels"] = PerceptualOracle(dataset, settings.grid, settings.oracle_tau, settings.oracle_blur).test_levels()
    return loaded


def make_oracle(args, dataset, settings: Settings, device, quiet: bool, console: Console, note_coverage: bool = True):
    """The replay oracle (--oracle replay) or the simulated expert, ready to answer.
    note_coverage: say how much of the training set a recording covers (a sweep's workers
    leave it to the parent, which said it already)."""
    if args.oracle == "replay":
        missing_note = lambda ids: console.warn(f"the recording has no answer for {len(ids)} queried example(s): they are skipped")
        oracle = ReplayOracle(args.answers, on_missing=missing_note, on_warning=console.warn)
        # The trainer asks only for recorded examples: say how many this training set can use,
        # and refuse a recording with none (it would ask nothing and report a normal result).
        train_size = len(dataset.train_x)
        note = oracle.coverage(train_size, settings.budget_count(train_size))
        if note and note_coverage:
            console.warn(note)
        return oracle
    oracle = make_simulated_oracle(dataset, settings, device, StepBar(quiet))
    oracle.levels()  # train / load the reference once, before the runs
    return oracle


def run_one(settings: Settings, dataset, oracle, suite, project_path: Path, label: str, quiet: bool, console: Console,
            make_bar=None, onnx: bool = False, pace: float | None = None) -> tuple:
    """One method × seed as a project: a finished project reports its stored result, an
    interrupted one resumes from its last checkpoint with every recorded answer.
    make_bar(label, total batches) → Callbacks with close(): the progress display (default: a tqdm bar).
    onnx: also export the model as ONNX (--onnx). pace: the oracle answers like a person, one
    query every `pace` seconds (--oracle-pace; app/engine/oracle/paced.py)."""
    project = Project.open_or_create(project_path, settings)
    try:
        finished = run_one_checks(project, project_path, label, console)
        if finished is not None:
            if not all((project.export_dir / name).is_file() for name in EXPORTS):
                # finished by an older version that marked the run before exporting it
                console.say(f"{label}: its export is incomplete, writing it again from the last checkpoint")
                project.export(project.export_dir, on_warning=console.warn, onnx=onnx)
            return finished, project.latest_checkpoint()
        total = settings.total_batches(len(dataset.train_x))
        bar = make_bar(label, total) if make_bar else BarCallbacks(label, total, quiet)
        expert = PacedExpert(oracle, pace, bar) if pace is not None and settings.uses_queries else None
        try:
            # a paced expert answers from outside, as a person does: the trainer gets no oracle
            run_oracle = oracle if settings.uses_queries and expert is None else None
            trainer = project.make_trainer(dataset, oracle=run_oracle, callbacks=expert or bar, suite=suite)
            if trainer.epoch:
                console.say(f"{label}: resuming {project_path} after epoch {trainer.epoch}")
            if expert is not None:
                expert.start(trainer)
            try:
                result = trainer.run()
            finally:
                if expert is not None:
                    expert.stop()
        finally:
            bar.close()
        project.conclude(result, trainer, on_warning=console.warn, onnx=onnx)
        return result, trainer
    finally:
        project.close()


def run_one_checks(project, project_path: Path, label: str, console: Console):
    """The stored result of a finished project (None: train it); an error if its settings differ."""
    if project.settings_differences:
        changed = ", ".join(f"{k} {old!r} → {new!r}" for k, (old, new) in project.settings_differences.items())
        raise SettingsError(
            f"{project_path} holds a run with other settings ({changed}): continue it with the settings it was "
            f"started with (in {project_path / 'settings.toml'}), or start a new run with a new --out / --project"
        )
    finished = project.load_result()
    if finished is not None:
        console.say(f"{label}: already finished in {project_path}, reusing its result")
    return finished


def copy_whole(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(target, lambda tmp: shutil.copyfile(source, tmp))


def run_job(args, base: Settings, dataset, oracle, suite, method: str, seed: int, console: Console, make_bar=None,
            runner=None, copy_exports: bool = True, out: Path | None = None):
    """One method × seed of the sweep: its project under --out/runs, its level table and model
    copied to --out/levels and --out/models. Serial runs and sweep workers both call this."""
    out = out or Path(args.out or DEFAULT_OUT)
    settings = replace(base, method=method, seed=seed)
    run_oracle = oracle
    if oracle is not None and settings.annotator_noise > 0:
        run_oracle = NoisyOracle(oracle, settings.annotator_noise, seed)
    name = f"{method}-seed{seed}"
    project_path = Path(args.project) if args.project else out / "runs" / name
    result, trainer = (runner or run_one)(settings, dataset, run_oracle, suite, project_path,
                                          f"{METHODS.title(method)} seed {seed}", args.quiet, console, make_bar,
                                          onnx=getattr(args, "onnx", False), pace=getattr(args, "oracle_pace", None))
    if not copy_exports:
        return result  # a distributed run's other ranks: rank 0 copies the exports
    for kind, suffix in (("levels", ".csv"), ("model", ".pt2")):
        source = project_path / "export" / f"{kind}{suffix}"
        if source.exists():
            copy_whole(source, out / ("levels" if kind == "levels" else "models") / f"{name}{suffix}")
    return result


def summary_line(method: str, seed: int, result) -> str:
    return (
        f"{METHODS.title(method)} seed {seed}: clean {result.clean:.2f}, "
        f"gaussian {_fmt(result.gaussian)}, all {_fmt(result.all)}, "
        f"queries {result.queries_used}/{result.budget}, {result.seconds:.0f} s"
    )


def _fmt(value) -> str:
    return "missing" if value is None else f"{value:.2f}"
