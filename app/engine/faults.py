"""Turn what the operating system and SQLite say into one-line messages that name the problem
and the fix (AQPLError). Nothing here swallows an error: every path either raises or succeeds."""

import errno
import os
import sqlite3
from pathlib import Path

from app.errors import AQPLError

# SQLite's default SQLITE_MAX_PATHNAME: a longer database path cannot be opened at all
SQLITE_MAX_PATH = 512


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


class ProjectError(AQPLError):
    """A project folder cannot be opened, read or written."""


class ProjectLockedError(ProjectError):
    """Another program holds the project or its database."""


class DiskFullError(ProjectError):
    """The disk that holds the project is full."""


class ReadOnlyError(ProjectError):
    """The project folder cannot be written."""


def os_error(exc: OSError, path: Path, doing: str) -> ProjectError:
    """`doing`: what was being done, e.g. "save the checkpoint"."""
    folder = path if path.is_dir() else path.parent
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return DiskFullError(
            f"the disk holding {folder} is full, could not {doing}: free some space and try again "
            "(everything saved before is intact)"
        )
    if exc.errno == errno.ENAMETOOLONG:
        return ProjectError(
            f"a path in {folder} is too long for the file system ({exc.strerror}), could not {doing}: "
            "use a shorter folder name (at most 255 bytes per name)"
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ReadOnlyError(
            f"project folder {folder} is read-only, could not {doing}: copy the folder to a writable place "
            "(or fix its permissions) and open the copy"
        )
    return ProjectError(f"could not {doing} in {folder}: {describe_os_error(exc, with_path=False)}")


def _shortened(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 160 else f"{text[:60]}…{text[-90:]}"


def sqlite_error(exc: sqlite3.Error, path: Path, doing: str) -> ProjectError:
    """Map SQLite's result codes (Python ≥ 3.11 exposes them) to user messages."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return ProjectLockedError(
            f"{path} is locked by another program, could not {doing}: close other AQPL Studio windows or "
            "SQLite tools that use this project, then try again"
        )
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in text or "malformed" in text:
        # before "full": a damaged schema's message quotes its text, which may say FULL
        return ProjectError(
            f"{path} is damaged ({exc}): restore the project folder from a backup; "
            "`sqlite3 answers.sqlite .recover` can rescue most rows"
        )
    if name.startswith("SQLITE_FULL") or "database or disk is full" in text:
        return DiskFullError(
            f"the disk holding {path.parent} is full, could not {doing}: free some space and try again "
            "(answers saved before are intact)"
        )
    length = len(os.fsencode(os.path.abspath(path)))
    if (name.startswith("SQLITE_CANTOPEN") or "unable to open" in text) and length > SQLITE_MAX_PATH:
        return ProjectError(
            f"the path {_shortened(path)} is {length} bytes long, more than SQLite can open ({SQLITE_MAX_PATH}), could not {doing}: "
            "move the project to a folder with a shorter path"
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN")) or "readonly" in text or "unable to open" in text:
        return ReadOnlyError(
            f"{path} cannot be written, could not {doing}: copy the project folder to a writable place "
            "(or fix its permissions) and open the copy"
        )
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in text or "malformed" in text:
        return ProjectError(
            f"{path} is damaged ({exc}): restore the project folder from a backup; "
            "`sqlite3 answers.sqlite .recover` can rescue most rows"
        )
    return ProjectError(f"could not {doing} in {path} ({exc}): check the disk and try again")


def probe_write(folder: Path) -> None:
    """A real write (synced) in `folder`; OSError if it cannot be written. os.access() says yes
    to root even on read-only folders, and says nothing about a full disk."""
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"x")
            f.flush()
            os.fsync(f.fileno())
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def check_writable(folder: Path) -> None:
    """The project folder can be written, or a ProjectError naming the fix."""
    try:
        probe_write(folder)
    except OSError as exc:
        raise os_error(exc, folder, "write to the project folder") from None
