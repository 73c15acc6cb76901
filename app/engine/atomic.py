"""Whole files or none: every output is written under a temporary name in its own folder,
synced, then renamed over the final name. A crash, a full disk or a failing exporter leaves
the old file (or no file), never a header-only CSV or a 0-byte model that a later run would
take for a finished one."""

import os
from pathlib import Path


def temporary_name(path: Path) -> Path:
    """Hidden, per process, same folder (a rename within one file system is atomic), and the
    same suffix (writers such as matplotlib pick the format from it)."""
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (a power cut after it keeps the new name)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is still atomic
    finally:
        os.close(fd)


def commit(tmp: Path, path: Path) -> Path:
    """A finished temporary file becomes `path`: synced, renamed, the rename synced."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    sync_folder(Path(path).parent)
    return Path(path)


def replace_atomically(path: Path, write) -> Path:
    """`write(tmp)` writes the content to `tmp`; then it becomes `path`. OSError passes through
    (callers name the folder and the fix); the temporary file never stays behind."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        write(tmp)
        return commit(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise


def is_temporary(path: Path) -> bool:
    """A temporary file of this module (left behind only by a process killed outright)."""
    return path.name.startswith(".") and ".tmp-" in path.name


def write_bytes_atomically(path: Path, data: bytes) -> Path:
    return replace_atomically(path, lambda tmp: tmp.write_bytes(data))


def write_text_atomically(path: Path, text: str) -> Path:
    return replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
