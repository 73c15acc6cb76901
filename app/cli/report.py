"""How every command ends for the user: an error they can fix (AQPLError) as one line on
stderr and exit code 2, an interrupt as one line and 130; never a traceback.

Operating-system errors that no layer below turned into an AQPLError (an unwritable --out, a
read-only cache folder, a name too long for the file system) are caught here too: they are
about the user's paths and disks, so they get the same one line naming the path and the fix.
"""

import errno
import os
import sys

from app.engine.errors import AQPLError

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


def run_reporting(body, interrupted: str = "interrupted") -> int:
    try:
        return body()
    except AQPLError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    except MemoryError:
        print("error: out of memory: use a smaller --batch-size or a smaller dataset", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {describe_os_error(error)}", file=sys.stderr)
        return 2
