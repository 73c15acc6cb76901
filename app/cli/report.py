"""How every command ends for the user: an error they can fix (AQPLError) as one line on
stderr and exit code 2, an interrupt as one line and 130 (SIGTERM: `terminated` and 143); never a
traceback.

Operating-system errors that no layer below turned into an AQPLError (an unwritable --out, a
read-only cache folder, a name too long for the file system) are caught here too: they are
about the user's paths and disks, so they get the same one line naming the path and the fix.
"""

import contextlib
import errno
import os
import signal
import sys
import threading

from app.errors import AQPLError

# errno → what the user can do about it
_FIXES = {
    errno.EROFS: "pick a folder on a writable disk",
    errno.EACCES: "pick a folder you may write to (or fix its permissions)",
    errno.EPERM: "pick a folder you may write to (or fix its permissions)",
    errno.ENOSPC: "free some space and run again (finished runs are kept)",
    errno.EDQUOT: "free some space and run again (finished runs are kept)",
    errno.ENAMETOOLONG: "use a shorter name (at most 255 bytes per file or folder name)",
    errno.EEXIST: "a file is in the way: give a folder path, or move the file",
    errno.ENOTDIR: "a file is in the way: a folder in this path is a file",
    errno.EISDIR: "a folder is in the way: give a file path",
    errno.ENOENT: "check that the folder exists",
    errno.EIO: "the disk reported an error: check the disk",
}


def describe_os_error(error: OSError, with_path: bool = True) -> str:
    """'PATH: reason: fix' for an OSError."""
    path = error.filename if error.filename is not None else error.filename2
    reason = error.strerror or str(error) or type(error).__name__
    fix = _FIXES.get(error.errno, "check the path and the disk")
    if path is None or not with_path:
        return f"{reason}: {fix}"
    shown = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    return f"{shown}: {reason}: {fix}"


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
        print("error: out of memory: use a smaller --batch-size or a smaller dataset", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {one_line(describe_os_error(error))}", file=sys.stderr)
        return 2
