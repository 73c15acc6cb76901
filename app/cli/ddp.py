"""The headless run as one rank of `torchrun --nproc-per-node N -m app --simulate-oracle ...`.

Rank 0 does everything a one-process run does (project, oracle, journal, checkpoints,
results, exports); the other ranks train and evaluate their shares and write nothing. See
app/engine/distributed.py for how the ranks stay one run.
"""

import sys

from app.cli.console import BarCallbacks, Console
from app.cli.runs import run_one_checks
from app.engine import distributed
from app.engine.events import Callbacks, RunStore
from app.engine.project import Project
from app.engine.trainer import Trainer
from app.errors import AQPLError, SettingsError


def join(device, args, console: Console):
    """The process group when torchrun started several processes, else None. Ranks other
    than 0 stay quiet: one progress display, one table."""
    if not distributed.launched():
        return None
    if getattr(args, "jobs", 1) not in (1, "1"):
        raise SettingsError("--jobs and torchrun do not mix: run a sweep with --jobs, or one run per torchrun")
    group = distributed.join(device)
    if not group.is_main:
        args.quiet = True
        console.sink = lambda message: None
    return group


def run_one_distributed(group, settings, dataset, oracle, suite, project_path, label, quiet, console: Console,
                        make_bar=None, onnx=False, pace=None):
    """run_one (app/cli/runs.py) for a rank: rank 0 opens the project and resumes it, then
    hands its trainer's state to the others, so a run may resume with another number of processes."""
    project = bar = None
    if group.is_main:
        try:
            project = Project.open_or_create(project_path, settings)
            finished = run_one_checks(project, project_path, label, console)
            if finished is None:
                bar = BarCallbacks(label, settings.total_batches(len(dataset.train_x)), quiet)
                trainer = project.make_trainer(dataset, oracle=oracle if settings.uses_queries else None, callbacks=bar, suite=suite)
                if trainer.epoch:
                    console.say(f"{label}: resuming {project_path} after epoch {trainer.epoch} on {group.world} processes")
            group.broadcast(("finished", finished) if finished is not None else ("train", trainer.state_dict()))
        except AQPLError as error:
            group.broadcast(("error", type(error), str(error)))
            if project is not None:
                project.close()
            raise
        if finished is not None:
            project.close()
            return finished, None
    else:
        kind, *payload = group.broadcast()
        if kind == "error":
            raise payload[0](payload[1])
        if kind == "finished":
            return payload[0], None
        trainer = Trainer(settings, dataset, oracle=None, callbacks=Callbacks(), store=RunStore(), suite=suite)
        trainer.load_state_dict(payload[0])
    try:
        group.attach(trainer)
        with group.running():
            result = trainer.run()
        agreement = group.gather(group.fingerprint(trainer))
        if len(set(agreement)) != 1:
            raise RuntimeError(f"the {group.world} ranks ended with different states: {agreement}")  # a bug, not user input
        print(f"rank {group.rank}/{group.world}: {agreement[group.rank]}", file=sys.stderr, flush=True)
        if group.is_main:
            project.conclude(result, trainer, on_warning=console.warn, onnx=onnx)
        group.barrier()
        return result, trainer
    finally:
        if bar is not None:
            bar.close()
        if project is not None:
            project.close()
