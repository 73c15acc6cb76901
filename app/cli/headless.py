"""The headless run: every requested method × seed on one dataset, a paper-shaped table,
results.json / results.md / curves.png, per-example levels and each model as a .pt2 program."""

from dataclasses import replace
from functools import partial, wraps
from pathlib import Path

from app.cli import ddp
from app.cli.console import Console
from app.cli.options import setting_overrides
from app.engine.faults import describe_os_error, probe_write
from app.cli.runs import DEFAULT_OUT, load_suite_for, make_oracle, run_job, summary_line
from app.cli.sweep import resolve_jobs, run_parallel
from app.engine.choices import validated
from app.engine.data import load_dataset
from app.engine.device import describe, pick_device
from app.engine.methods import METHODS, PAPER_METHODS
from app.engine.project.project import missing_folders, remove_empty_folders
from app.engine.report import text_table, write_reports
from app.engine.settings import check_text_path, defaults_for
from app.errors import SettingsError
from models.registry import check_fits


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


def make_folder(folder: Path, option: str) -> None:
    """Create the output folder and try a write there: an unwritable --out fails now, not
    after hours of training."""
    _created_folders.extend(missing_folders(folder))  # removed again, if still empty, when the run is refused
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe_write(folder)
    except FileExistsError:
        raise SettingsError(f"{option} {folder} is a file, not a folder: give a folder path (or move the file)") from None
    except OSError as exc:
        raise SettingsError(f"{option} {folder} cannot be written: {describe_os_error(exc, with_path=False)}") from None


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
    console = Console()
    say = console.say
    overrides = setting_overrides(args)
    say(f"loading dataset {args.dataset} ...")
    dataset = load_dataset(args.dataset, args.data_dir, args.image_size)
    for warning in dataset.extra.get("warnings", []):
        console.warn(warning)
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
        console.warn(warning)
        # said once: each run's trainer (and a sweep worker) is given the device actually used
        base = replace(base, device=device.type)
    group = ddp.join(device, args, console)  # torchrun: this process is one rank of each run (app/cli/ddp.py)
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

    load = lambda: None if args.no_suite else load_suite_for(dataset, args.quiet, console)
    suite = group.main_first(load) if group is not None else load()  # rank 0 fills the cache, the others read it
    needs_oracle = any(METHODS.entry(m).uses_queries for m in methods)
    if args.answers and not needs_oracle:
        console.warn(f"--answers {args.answers} is not read: no method of this run asks queries")
    oracle = make_oracle(args, dataset, base, device, args.quiet, console) if needs_oracle and main_rank else None

    runs = [(method, seed) for method in methods for seed in seeds]
    jobs, threads = resolve_jobs(args.jobs, len(runs))
    if group is not None:
        finished = {}
        for method, seed in runs:
            finished[method, seed] = run_job(args, base, dataset, oracle, suite, method, seed, console, out=out,
                                             runner=partial(ddp.run_one_distributed, group), copy_exports=group.is_main)
            say(summary_line(method, seed, finished[method, seed]))
        group.close()
        if not group.is_main:
            return 0  # rank 0 writes the reports
    elif jobs > 1 and not args.project:
        say(f"{len(runs)} runs in {jobs} worker processes, {threads} thread(s) each")
        finished = run_parallel(args, base, runs, jobs, threads, console)
    else:
        finished = {}
        for method, seed in runs:
            finished[method, seed] = run_job(args, base, dataset, oracle, suite, method, seed, console, out=out)
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
