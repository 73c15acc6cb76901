"""How every command ends for the user: an error they can fix (AQPLError) as one line on
stderr and exit code 2, an interrupt as one line and 130 (SIGTERM: `terminated` and 143); never a
traceback.

Operating-system errors that no layer below turned into an AQPLError (an unwritable --out, a
read-only cache folder, a name too long for the file system) are caught here too: they are
about the user's paths and disks, so they get the same one line naming the path and the fix.
"""

import contextlib
import signal
import sys
import threading

from app.engine.faults import describe_os_error
from app.errors import AQPLError, out_of_memory

class Terminated(BaseException):
    """SIGTERM (`kill PID`, a scheduler's time limit) while a command line ran: unwound like
    Ctrl-C, so the run's files are closed, and said in one line (exit code 143, as by the signal)."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


@contextlib.contextmanager
def sigterm_unwinds():
    """Inside: SIGTERM raises Terminated (the main thread only can set it; elsewhere, and in the
    window, whose Qt event loop would hold the signal, the default stays). The previous
    handler is back on leaving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def one_line(message: str) -> str:
    """`message` as the one line it is meant to be: control characters that came from the user's
    input (a newline or carriage return in a path, a NUL) are shown escaped, never obeyed."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in message)


def run_reporting(body, interrupted: str = "interrupted") -> int:
    try:
        return body()
    except AQPLError as error:
        print(f"error: {one_line(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except MemoryError:
        print(f"error: {out_of_memory('--batch-size')}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {one_line(describe_os_error(error))}", file=sys.stderr)
        return 2
