"""What a command line run shows: one-line messages (`Console`), and training and preparation
progress as tqdm bars. A `Console` is passed to whatever speaks; a sweep's worker process gives
its own a sink that sends the messages to the parent (app/cli/sweep.py), and DDP ranks other than
0 one that drops them (app/cli/ddp.py)."""

import sys

from tqdm import tqdm

from app.engine.events import Callbacks


class Console:
    """Messages on stderr, above a live progress bar (never into its line), or to `sink`."""

    def __init__(self, sink=None):
        self.sink = sink

    def say(self, message: str) -> None:
        if self.sink is not None:
            self.sink(message)
        else:
            tqdm.write(message, file=sys.stderr)
            sys.stderr.flush()

    def warn(self, message: str) -> None:
        self.say(f"warning: {message}")


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
