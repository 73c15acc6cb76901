"""The headless run: every requested method × seed on one dataset, a paper-shaped table,
results.json / results.md / curves.png, per-example levels and each model as a .pt2 program."""

import os
import shutil
import sys
from dataclasses import replace
from functools import partial, wraps
from pathlib import Path

from tqdm import tqdm

from app.engine.data import load_dataset
from app.engine.device import describe, pick_device
from app.errors import SettingsError
from app.engine.events import Callbacks
from app.engine.oracle import NoisyOracle, PerceptualOracle, ReplayOracle, make_simulated_oracle
from app.engine.oracle.paced import PacedExpert
from app.engine.report import text_table, write_reports
from app.engine.methods import METHODS, PAPER_METHODS
from app.engine.settings import Settings, defaults_for
from app.engine.project import Project
from app.engine.project.project import missing_folders, remove_empty_folders
from models.registry import check_fits

from app.cli import ddp
from app.cli.options import setting_overrides
from app.cli.report import describe_os_error
from app.engine.atomic import replace_atomically
from app.engine.choices import validated

DEFAULT_OUT = "runs/latest"
EXPORTS = ("levels.csv", "model.pt2")  # what a finished run's export must hold (the summary copies them)
from app.cli.sweep import resolve_jobs, run_parallel


def say(message: str) -> None:
    if _sink is not None:
        _sink(message)
    else:
        tqdm.write(message, file=sys.stderr)  # above a live progress bar, never into its line
        sys.stderr.flush()


_sink = None  # a parallel sweep's worker sends its messages to the parent instead (app/cli/sweep.py)


def say_to(sink) -> None:
    global _sink
    _sink = sink


class BarCallbacks(Callbacks):
    """Training progress as a tqdm bar; warnings as one-line messages."""

    def __init__(self, label: str, total: int, quiet: bool):
        self.bar = tqdm(total=total, desc=label, unit="batch", disable=quiet, leave=False, dynamic_ncols=True)
        self.quiet = quiet

    def on_progress(self, progress) -> None:
        self.bar.n = progress.step
        postfix = {"epoch": f"{progress.epoch}/{progress.epochs}", "phase": progress.phase}
        if progress.loss is not None:
            postfix["loss"] = f"{progress.loss:.3f}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.refresh()

    def on_warning(self, message: str) -> None:
        tqdm.write(f"warning: {message}", file=sys.stderr)

    def close(self) -> None:
        self.bar.close()


class StepBar:
    """progress(done, total, label) callbacks (reference model, conform levels, suites) as a bar."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = None
        self.label = None

    def __call__(self, done: int, total: int, label: str) -> None:
        stem = label.split(" (")[0]
        if self.bar is None or stem != self.label:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=total, desc=stem, disable=self.quiet, leave=False, dynamic_ncols=True)
            self.label = stem
        self.bar.total = total
        self.bar.n = done
        self.bar.set_postfix_str(label[len(stem):].strip(" ()"), refresh=False)
        self.bar.refresh()
        if done >= total:
            self.bar.close()
            self.bar = None
            self.label = None


def load_suite_for(dataset, quiet: bool):
    """The corruption suite for Gaussian and All (the released files, or generated once and cached)."""
    from app.engine.corruptions import load_suite

    loaded = load_suite(dataset, progress=StepBar(quiet))
    if loaded.get("note"):
        say(f"note: {loaded['note']}")
    # Conform: every test image at its own conform level by the calibrated simulated expert
    settings = defaults_for(dataset.family)
    loaded["conform_levels"] = PerceptualOracle(dataset, settings.grid, settings.oracle_tau, settings.oracle_blur).test_levels()
    return loaded


def make_oracle(args, dataset, settings: Settings, device, quiet: bool):
    if args.oracle == "replay":
        missing_note = lambda ids: say(f"warning: the recording has no answer for {len(ids)} queried example(s): they are skipped")
        oracle = ReplayOracle(args.answers, on_missing=missing_note, on_warning=lambda m: say(f"warning: {m}"))
        # The trainer asks only for recorded examples: say how many this training set can use,
        # and refuse a recording with none (it would ask nothing and report a normal result).
        train_size = len(dataset.train_x)
        note = oracle.coverage(train_size, settings.budget_count(train_size))
        if note and _sink is None:  # a sweep worker's oracle: the parent process said it already
            say(f"warning: {note}")
        return oracle
    oracle = make_simulated_oracle(dataset, settings, device, StepBar(quiet))
    oracle.levels()  # train / load the reference once, before the runs
    return oracle


def run_one(settings: Settings, dataset, oracle, suite, project_path: Path, label: str, quiet: bool, make_bar=None,
            onnx: bool = False, pace: float | None = None) -> tuple:
    """One method × seed as a project: a finished project reports its stored result, an
    interrupted one resumes from its last checkpoint with every recorded answer.
    make_bar(label, total batches) → Callbacks with close(): the progress display (default: a tqdm bar).
    onnx: also export the model as ONNX (--onnx). pace: the oracle answers like a person, one
    query every `pace` seconds (--oracle-pace; app/engine/oracle/paced.py)."""
    project = Project.open_or_create(project_path, settings)
    try:
        finished = run_one_checks(project, project_path, label)
        if finished is not None:
            if not all((project_path / "export" / name).is_file() for name in EXPORTS):
                # finished by an older version that marked the run before exporting it
                say(f"{label}: its export is incomplete, writing it again from the last checkpoint")
                project.export(project_path / "export", on_warning=lambda m: say(f"warning: {m}"), onnx=onnx)
            return finished, project.latest_checkpoint()
        total = settings.epochs * -(-len(dataset.train_x) // settings.batch_size)
        bar = make_bar(label, total) if make_bar else BarCallbacks(label, total, quiet)
        expert = PacedExpert(oracle, pace, bar) if pace is not None and settings.uses_queries else None
        try:
            # a paced expert answers from outside, as a person does: the trainer gets no oracle
            run_oracle = oracle if settings.uses_queries and expert is None else None
            trainer = project.make_trainer(dataset, oracle=run_oracle, callbacks=expert or bar, suite=suite)
            if trainer.epoch:
                say(f"{label}: resuming {project_path} after epoch {trainer.epoch}")
            if expert is not None:
                expert.start(trainer)
            try:
                result = trainer.run()
            finally:
                if expert is not None:
                    expert.stop()
        finally:
            bar.close()
        # The export first, the result last: results.json marks the run finished, so a failed
        # export (full disk, unwritable folder) is written again by the next run, never reused.
        project.export(project_path / "export", trainer, on_warning=lambda m: say(f"warning: {m}"), onnx=onnx)
        project.save_result(result)
        return result, trainer
    finally:
        project.close()


def check_arguments(args) -> None:
    """What can be refused before the (slow) dataset is loaded."""
    if args.answers and args.oracle != "replay":
        raise SettingsError(
            f"--answers {args.answers} is only read by the replay oracle: add --oracle replay, or drop --answers"
        )
    if args.oracle == "replay" and not args.answers:
        raise SettingsError("--oracle replay needs --answers FILE: give a project's answers.sqlite or an answers CSV")
    for option, value in (("--out", args.out), ("--project", args.project), ("--data-dir", args.data_dir)):
        if value is not None:
            check_text_path(option, value)


def check_text_path(option: str, value: str) -> None:
    """Paths end up as text in settings.toml, reports and messages: one with bytes that are not
    UTF-8 cannot be written there (and torch's file writers abort on them)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(value).decode("utf-8", "backslashreplace")
        raise SettingsError(f"{option} {shown} is not a valid UTF-8 path: rename the folder, or pick another one") from None


def make_folder(folder: Path, option: str) -> None:
    """Create the output folder and try a write there: an unwritable --out fails now, not
    after hours of training."""
    probe = folder / f".write-probe-{os.getpid()}"
    _created_folders.extend(missing_folders(folder))  # removed again, if still empty, when the run is refused
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError:
        raise SettingsError(f"{option} {folder} is a file, not a folder: give a folder path (or move the file)") from None
    except OSError as exc:
        raise SettingsError(f"{option} {folder} cannot be written: {describe_os_error(exc, with_path=False)}") from None


def copy_whole(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(target, lambda tmp: shutil.copyfile(source, tmp))


def run_one_checks(project, project_path: Path, label: str):
    """The stored result of a finished project (None: train it); an error if its settings differ."""
    if project.settings_differences:
        changed = ", ".join(f"{k} {old!r} → {new!r}" for k, (old, new) in project.settings_differences.items())
        raise SettingsError(
            f"{project_path} holds a run with other settings ({changed}): continue it with the settings it was "
            f"started with (in {project_path / 'settings.toml'}), or start a new run with a new --out / --project"
        )
    finished = project.load_result()
    if finished is not None:
        say(f"{label}: already finished in {project_path}, reusing its result")
    return finished


def too_small_fix(dataset) -> str:
    """The fix for images too small for the model: --image-size resizes only an image folder;
    any other dataset's files hold images of a fixed, larger size, so small ones are wrong files."""
    if dataset.name == "imagefolder":
        return "resize them, e.g. --image-size 28"
    return (f"the files in {dataset.source or dataset.data_dir} do not hold {dataset.name} images; replace them "
            "(--image-size resizes only --dataset imagefolder)")


_created_folders: list[Path] = []  # output folders this run created (make_folder), deepest first


def removing_empty_outputs(run):
    """A run refused after it created its output folders (e.g. a path too long for the answers
    database) removes those that are still empty: no trail of empty folders."""
    @wraps(run)
    def wrapper(args) -> int:
        _created_folders.clear()
        try:
            return run(args)
        except BaseException:
            remove_empty_folders(sorted(set(_created_folders), key=lambda p: len(p.parts), reverse=True))
            raise
        finally:
            _created_folders.clear()

    return wrapper


@removing_empty_outputs
def run_headless(args) -> int:
    check_arguments(args)
    overrides = setting_overrides(args)
    say(f"loading dataset {args.dataset} ...")
    dataset = load_dataset(args.dataset, args.data_dir, args.image_size)
    for warning in dataset.extra.get("warnings", []):
        say(f"warning: {warning}")
    gui = getattr(args, "preset", None) == "gui"  # the settings a new GUI session starts with
    if getattr(args, "oracle_pace", None) is not None:
        if overrides.get("mode", "continuous") != "continuous":
            raise SettingsError("--oracle-pace answers like a person in a GUI session: it needs --mode continuous (drop --mode)")
        if args.oracle_pace < 0:
            raise SettingsError(f"--oracle-pace {args.oracle_pace}: give the seconds per answer, 0 or more")
        overrides["mode"] = "continuous"
    base = defaults_for(dataset.family, gui=gui, **overrides)
    if args.method not in (None, "all"):
        methods = [args.method]
    else:
        methods = [base.method] if gui and args.method is None else list(PAPER_METHODS)
    seeds = args.seeds or [base.seed]
    if not seeds:
        raise SettingsError("--seeds is empty: give at least one seed, e.g. --seeds 0,1,2")
    if args.project and (len(methods) > 1 or len(seeds) > 1):
        raise SettingsError("--project holds a single run: give one --method and one seed (--seeds 0)")
    for seed in seeds:
        validated(replace(base, method=methods[0], seed=seed))
    check_fits(base.model, dataset.in_channels, dataset.image_size, fix=too_small_fix(dataset))

    device, warning = pick_device(base.device)
    if warning:
        say(f"warning: {warning}")
        # said once: each run's trainer (and a sweep worker) is given the device actually used
        base = replace(base, device=device.type)
    group = ddp.join(device, args)  # torchrun: this process is one rank of each run (app/cli/ddp.py)
    if group is not None:
        say(f"one run on {group.world} processes ({'nccl' if device.type == 'cuda' else 'gloo'})")
    say(f"{dataset!r} on {describe(device)}; methods {', '.join(methods)}; seeds {seeds}")
    main_rank = group is None or group.is_main  # only rank 0 writes and talks to the oracle
    if args.out is not None:
        out = Path(args.out)
        if main_rank:
            make_folder(out, "--out")  # fail now, not after hours of training
    elif args.project:
        # not runs/latest: a single project's summary would replace the last full run's there
        out = Path(args.project) / "summary"
        say(f"note: the summary goes to {out} (pass --out DIR to put it elsewhere)")
    else:
        out = Path(DEFAULT_OUT)
        if main_rank:
            make_folder(out, "--out")

    load = lambda: None if args.no_suite else load_suite_for(dataset, args.quiet)
    suite = group.main_first(load) if group is not None else load()  # rank 0 fills the cache, the others read it
    needs_oracle = any(METHODS.entry(m).uses_queries for m in methods)
    if args.answers and not needs_oracle:
        say(f"warning: --answers {args.answers} is not read: no method of this run asks queries")
    oracle = make_oracle(args, dataset, base, device, args.quiet) if needs_oracle and main_rank else None

    runs = [(method, seed) for method in methods for seed in seeds]
    jobs, threads = resolve_jobs(args.jobs, len(runs))
    if group is not None:
        finished = {}
        for method, seed in runs:
            finished[method, seed] = run_job(args, base, dataset, oracle, suite, method, seed, out=out,
                                             runner=partial(ddp.run_one_distributed, group), copy_exports=group.is_main)
            say(summary_line(method, seed, finished[method, seed]))
        group.close()
        if not group.is_main:
            return 0  # rank 0 writes the reports
    elif jobs > 1 and not args.project:
        say(f"{len(runs)} runs in {jobs} worker processes, {threads} thread(s) each")
        finished = run_parallel(args, base, runs, jobs, threads)
    else:
        finished = {}
        for method, seed in runs:
            finished[method, seed] = run_job(args, base, dataset, oracle, suite, method, seed, out=out)
            say(summary_line(method, seed, finished[method, seed]))
    results: dict[str, list] = {}
    for method, seed in runs:  # the serial order, whatever order the workers finished in
        results.setdefault(method, []).append(finished[method, seed])

    make_folder(out, "--out")
    summary = write_reports(results, out, {**base.to_dict(), "methods": methods, "seeds": seeds, "oracle": args.oracle}, dataset.name)
    print()
    print(text_table(summary))
    print(f"\nwrote {out / 'results.json'}, {out / 'results.md'}, {out / 'curves.png'}, levels/ and models/")
    return 0


def run_job(args, base: Settings, dataset, oracle, suite, method: str, seed: int, make_bar=None, runner=None,
            copy_exports: bool = True, out: Path | None = None):
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
                                          f"{METHODS.title(method)} seed {seed}", args.quiet, make_bar,
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

