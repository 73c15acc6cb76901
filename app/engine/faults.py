"""Turn what the operating system and SQLite say into one-line messages that name the problem
and the fix (AQPLError). Nothing here swallows an error: every path either raises or succeeds."""

import errno
import os
import sqlite3
from pathlib import Path

from app.errors import AQPLError

# SQLite's default SQLITE_MAX_PATHNAME: a longer database path cannot be opened at all
SQLITE_MAX_PATH = 512


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
    return ProjectError(f"could not {doing} in {folder} ({exc.strerror or exc}): check the disk and try again")


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


def check_writable(folder: Path) -> None:
    """A real write probe: os.access() says yes to root even on read-only folders, and says
    nothing about a full disk."""
    probe = folder / f".write-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(b"x")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise os_error(exc, folder, "write to the project folder") from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
