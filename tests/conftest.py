"""Shared fixtures: an isolated cache folder, small slices of the embedded dataset, settings
built from the one source of defaults (resources/defaults.toml, through `defaults_for`), a tiny
image folder and a tiny disk. Plain helpers are in tests/helpers.py."""

import os
import subprocess

import pytest
import torch

from tests.helpers import CPU, settings, slice_dataset, write_image_folder

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Reference models, conform levels and suites go to a per-session temporary cache,
    never to the user's real cache."""
    monkeypatch.setenv("AQPL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def one_thread():
    """For modules of tiny batches: OpenMP threads only wait on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def embedded():
    from app.engine.data import load_dataset

    return load_dataset("embedded")


@pytest.fixture(scope="session")
def tiny(embedded):
    """300 train / 100 test images: projects, faults and recorded runs."""
    return slice_dataset(embedded, 300, 100, name=embedded.name)


@pytest.fixture(scope="session")
def make_settings():
    """`make_settings(**overrides)`: the gray family's defaults on the CPU, then `overrides`."""

    def make(**overrides):
        return settings(CPU, **overrides)

    return make


@pytest.fixture(scope="session")
def small(embedded):
    """600 train / 200 test images of the embedded dataset: fast enough for a whole run in seconds."""
    return slice_dataset(embedded, 600, 200)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A gray image folder, 2 classes × 8 images of 8×8 (12 training images): one epoch of the
    small CNN on it takes well under a second (tests.helpers.TINY_RUN)."""
    return write_image_folder(tmp_path_factory.mktemp("images"))


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 2 MB file system (tmpfs), where the root user may mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs permission to mount a small tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
