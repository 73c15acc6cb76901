"""`--jobs N`: the method × seed runs of one --out in N worker processes.

Each worker is a fresh process ('spawn': no inherited threads or OpenMP state) with its own
torch thread budget; it loads the dataset and reads the suite and the oracle's levels from
the cache, which the parent filled before starting the pool. Workers report progress through
a queue and the parent draws one bar per running job; results come back to the parent, which
writes results.json / results.md in the serial order, so the files do not depend on --jobs.
"""

import os
from dataclasses import replace
import queue as queue_module
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context

from tqdm import tqdm

from app.cli.console import Console
from app.cli.runs import load_suite_for, make_oracle, run_job, summary_line
from app.engine.data import load_dataset
from app.engine.device import pick_device
from app.engine.events import Callbacks

POLL_S = 0.2


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_jobs(jobs, runs: int) -> tuple[int, int]:
    """(worker processes, torch threads per worker) for `--jobs` (N or "auto") and `runs` runs."""
    env_threads = os.environ.get("OMP_NUM_THREADS", "").strip()
    per_run = int(env_threads) if env_threads.isdigit() and int(env_threads) > 0 else None
    if jobs == "auto":
        jobs = max(1, cores() // (per_run or 1))
    jobs = max(1, min(int(jobs), runs))
    return jobs, per_run or max(1, cores() // jobs)


# -- the worker side -------------------------------------------------------------------------
_messages = None  # the parent's queue, set by _start_worker
_parent = None
_console: Console | None = None  # this worker's messages, sent to the parent


def _start_worker(messages, threads: int) -> None:
    global _messages, _parent, _console
    import torch

    _messages, _parent = messages, os.getppid()
    torch.set_num_threads(threads)
    _console = Console(sink=lambda text: messages.put(("say", None, text)))


class QueueBar(Callbacks):
    """A worker's progress, sent to the parent's display (the trainer already throttles it)."""

    def __init__(self, label: str, total: int):
        self.label, self.total = label, total

    def on_progress(self, progress) -> None:
        if os.getppid() != _parent:
            # The sweep was killed: stop too, instead of holding the project's lock; the
            # project resumes from its last checkpoint when the sweep is started again.
            os._exit(1)
        loss = "" if progress.loss is None else f", loss {progress.loss:.3f}"
        _messages.put(("bar", self.label, (progress.step, self.total, f"epoch {progress.epoch}/{progress.epochs}, {progress.phase}{loss}")))

    def on_warning(self, message: str) -> None:
        _messages.put(("say", self.label, f"warning: {message}"))

    def close(self) -> None:
        _messages.put(("end", self.label, None))


def _work(args, base, method: str, seed: int):
    dataset = load_dataset(args.dataset, args.data_dir, args.image_size)
    suite = None if args.no_suite else load_suite_for(dataset, True, _console)  # cached by the parent
    oracle = None
    if replace(base, method=method).uses_queries:
        # the parent said already how much of the training set a recording covers
        oracle = make_oracle(args, dataset, base, pick_device(base.device)[0], True, _console, note_coverage=False)
    return run_job(args, base, dataset, oracle, suite, method, seed, _console, make_bar=QueueBar)


# -- the parent side -------------------------------------------------------------------------
class Bars:
    """One tqdm line per running job, in the first free position."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bars: dict[str, tuple[tqdm, int]] = {}

    def show(self, label: str, step: int, total: int, text: str) -> None:
        if label not in self.bars:
            taken = {position for _, position in self.bars.values()}
            position = next(p for p in range(len(self.bars) + 1) if p not in taken)
            self.bars[label] = (tqdm(total=total, desc=label, unit="batch", position=position,
                                     leave=False, dynamic_ncols=True, disable=self.quiet), position)
        bar = self.bars[label][0]
        bar.n = step
        bar.set_postfix_str(text, refresh=False)
        bar.refresh()

    def end(self, label: str) -> None:
        entry = self.bars.pop(label, None)
        if entry is not None:
            entry[0].close()

    def close(self) -> None:
        for label in list(self.bars):
            self.end(label)


def run_parallel(args, base, runs: list[tuple[str, int]], jobs: int, threads: int, console: Console) -> dict:
    say = console.say
    context = get_context("spawn")
    messages = context.Queue()
    bars = Bars(args.quiet)
    finished = {}
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=(messages, threads))
    try:
        futures = {pool.submit(_work, args, base, method, seed): (method, seed) for method, seed in runs}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            _drain(messages, bars, say)
            for future in done:
                method, seed = futures[future]
                finished[method, seed] = future.result()  # a worker's error (AQPLError too) is raised here
                say(summary_line(method, seed, finished[method, seed]))
        _drain(messages, bars, say)
    except BaseException:
        # An error or Ctrl-C: stop the other runs now (projects are crash-safe and resume later).
        for process in list((pool._processes or {}).values()):
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bars.close()
    return finished


def _drain(messages, bars: Bars, say) -> None:
    while True:
        try:
            kind, label, payload = messages.get_nowait()
        except queue_module.Empty:
            return
        if kind == "bar":
            bars.show(label, *payload)
        elif kind == "end":
            bars.end(label)
        else:
            tqdm.write(payload, file=sys.stderr)  # above the bars
