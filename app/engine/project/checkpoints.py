"""Checkpoints: one file per epoch in checkpoints/, written atomically, the last KEEP kept.

File format: MAGIC, the payload's length (8 bytes, big-endian) and SHA-256, then the payload
(torch.save bytes). The digest
catches any damage (a torn write, a flipped bit, a truncated copy), not only the ones that make
torch.load fail, so a damaged checkpoint is never resumed from.
"""

import hashlib
import io
import os
import re
from pathlib import Path

import torch

from app.engine.atomic import is_temporary, write_bytes_atomically
from app.engine.faults import os_error

MAGIC = b"AQPLCKP1"
HEADER = len(MAGIC) + 8 + 32
KEEP = 3
_NAME = re.compile(r"^epoch-(\d+)\.ckpt$")


class CorruptCheckpoint(Exception):
    """The file is not a complete, intact checkpoint (internal: the caller falls back)."""


def checkpoint_path(folder: Path, epoch: int) -> Path:
    return folder / f"epoch-{epoch:04d}.ckpt"


def list_checkpoints(folder: Path) -> list[Path]:
    """Newest first."""
    found = []
    for path in folder.glob("epoch-*.ckpt"):
        match = _NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found, reverse=True)]


def write_atomic(path: Path, data: bytes, doing: str) -> None:
    """Whole or not at all (app/engine/atomic.py); a failure names the file and the fix."""
    try:
        write_bytes_atomically(path, data)
    except OSError as exc:
        raise os_error(exc, path, doing) from None


def write_checkpoint(folder: Path, epoch: int, payload: dict) -> Path:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    body = buffer.getvalue()
    path = checkpoint_path(folder, epoch)
    header = MAGIC + len(body).to_bytes(8, "big") + hashlib.sha256(body).digest()
    write_atomic(path, header + body, f"save the checkpoint of epoch {epoch}")
    prune(folder)
    return path


def read_checkpoint(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorruptCheckpoint(f"unreadable ({exc.strerror or exc})") from None
    if not data.startswith(MAGIC[: len(data)]) or (len(data) >= len(MAGIC) and not data.startswith(MAGIC)):
        raise CorruptCheckpoint("not a checkpoint (unknown header)")
    if len(data) < HEADER:
        raise CorruptCheckpoint(f"truncated ({len(data)} bytes)")
    length = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 8], "big")
    digest, body = data[len(MAGIC) + 8 : HEADER], data[HEADER:]
    if len(body) != length:
        raise CorruptCheckpoint(f"truncated ({len(body)} of {length} bytes)")
    if hashlib.sha256(body).digest() != digest:
        raise CorruptCheckpoint("damaged (checksum mismatch)")
    try:
        # weights_only: a checkpoint holds tensors and plain containers, nothing that runs code.
        payload = torch.load(io.BytesIO(body), map_location="cpu", weights_only=True)
    except Exception as exc:  # any failure here means the file cannot be resumed from
        raise CorruptCheckpoint(f"unreadable ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or "state" not in payload:
        raise CorruptCheckpoint("not a training checkpoint")
    return payload


def latest_valid(folder: Path, warn) -> tuple[Path, dict] | None:
    """The newest intact checkpoint; damaged newer ones are reported through `warn`, renamed
    aside (kept for inspection, out of the rotation) and skipped."""
    for path in list_checkpoints(folder):
        try:
            return path, read_checkpoint(path)
        except CorruptCheckpoint as exc:
            aside = path.with_name(path.name + ".corrupt")
            try:
                os.replace(path, aside)
            except OSError:
                aside = path
            warn(f"checkpoint {path.name} is {exc}: resuming from the previous one (the damaged file is kept as {aside.name})")
    return None


def prune(folder: Path, keep: int = KEEP) -> None:
    for path in list_checkpoints(folder)[keep:]:
        try:
            path.unlink()
        except OSError:
            pass  # an extra old checkpoint is harmless


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files of writes that a crash interrupted."""
    for path in folder.iterdir():
        if not is_temporary(path):
            continue
        try:
            path.unlink()
        except OSError:
            pass
