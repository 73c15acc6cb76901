"""What every fuzz target (tests/test_fuzz_*.py) shares: the Hypothesis profiles and the property.

Profiles (HYPOTHESIS_PROFILE selects one; `ci` is the default):
    ci    a few hundred examples per target, derandomized: part of the normal suite
    long  10,000 examples per target (tests/test_fuzz_long.py runs it as a slow test)
    dev   50 examples: a quick look while editing a target

The property, for every file and value the program reads: it either reads it correctly or
refuses it with the project's AQPLError, whose message is ONE line that names the file and says
what to do — never another exception (a traceback for the user), a hang, or a NaN.

Also here, for the targets that share them: how files get damaged (`mutate`, drawn by
Hypothesis) and what accepted settings must satisfy (`check_settings`). Plain helpers (dataset
files, settings, ...) are in tests/helpers.py.
"""

import math
import os
import signal
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from app.cli.report import one_line
from app.engine.settings import Settings
from app.errors import AQPLError

_COMMON = dict(
    deadline=None,  # a shared 2-core machine: timing is no property; hangs are caught by no_hang
    database=None,  # no .hypothesis/ folder in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile("ci", max_examples=200, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=10_000, **_COMMON)
settings.register_profile("dev", max_examples=50, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Warnings that never reach a user of the command line or the window (deprecations of the
# libraries' own internals).
IGNORED_WARNINGS = (DeprecationWarning, PendingDeprecationWarning)

HANG_S = 60  # one example: far above any real input's time
MAX_EPOCHS = 100_000  # more is no run anyone waits for (see check_settings)


class Hang(Exception):
    pass


@contextmanager
def no_hang(seconds: int = HANG_S):
    """Fail the example (not the whole run) when reading one input takes longer than `seconds`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise Hang(f"reading one input took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_message(error: AQPLError, *names) -> str:
    """One line as the user sees it (app/cli/report.py shows control characters from the input
    escaped), naming one of `names` (a path or an option), with a fix after a colon."""
    message = one_line(str(error))
    assert message and "\n" not in message and "\r" not in message, repr(message)
    assert len(message) < 2000, message
    if names:
        assert any(one_line(str(name)) in message for name in names), f"{message!r} names none of {names}"
    assert ": " in message, f"{message!r} gives no fix"
    assert "Traceback" not in message
    return message


def read_or_refuse(call, *names):
    """call() → (value, None) when it reads the input, (None, message) when it refuses it with
    a proper AQPLError. Any other exception escapes: the fuzzer found a bug."""
    with no_hang(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call(), None
        except AQPLError as error:
            result = None, check_message(error, *names)
    # a library's raw warning reaches the user as extra lines, unexplained
    raw = [f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, IGNORED_WARNINGS)]
    assert not raw, raw
    return result


# Examples write many small files and databases: in memory when the machine has /dev/shm (an
# fsync there costs nothing), which keeps a few hundred examples per target within seconds.
_SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@contextmanager
def scratch():
    """A fresh empty folder (Path) for one example, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="aqpl-fuzz-", dir=_SCRATCH) as folder:
        yield Path(folder)


def mutate(raw: bytes, data) -> bytes:
    """Truncate, flip bits, overwrite a few bytes: how files get damaged."""
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        if not raw:
            break
        at = data.draw(st.integers(0, 2**16), label="at") % len(raw)  # not len-bound: files may vary in size
        kind = data.draw(st.sampled_from(["flip", "truncate", "overwrite", "insert"]), label="kind")
        if kind == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "truncate":
            del raw[at:]
        elif kind == "overwrite":
            chunk = data.draw(st.binary(min_size=1, max_size=8))
            raw[at:at + len(chunk)] = chunk
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    return bytes(raw)


def check_settings(settings: Settings) -> None:
    """What every run relies on, for settings that were accepted."""
    assert settings.validate() is settings
    assert len(settings.grid) >= 2 and all(0 <= g <= 1 for g in settings.grid)
    for train in (1, 600, 60_000):
        count = settings.budget_count(train)
        assert 0 <= count <= train
        assert all("\n" not in note for note in settings.notices(train))
    assert math.isfinite(settings.smoothing) and settings.smoothing * settings.cat_eps_max <= 0.5 + 1e-9
    assert settings.epochs <= MAX_EPOCHS  # validate refuses more (the round schedule would exhaust memory)
    assert all(1 <= epoch < settings.epochs for epoch in settings.round_epochs())
    assert all(settings.per_round(train) >= 0 for train in (1, 600, 60_000))
