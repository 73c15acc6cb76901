"""Shared fixtures: an isolated cache folder, small slices of the embedded dataset, and settings
built from the one source of defaults (resources/defaults.toml, through `defaults_for`)."""

import os

import pytest
import torch

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


def slice_dataset(dataset, train: int, test: int, name: str | None = None):
    from app.engine.data.dataset import Dataset

    return Dataset(
        name=name or f"{dataset.name}-{train}", train_x=dataset.train_x[:train].clone(), train_y=dataset.train_y[:train].clone(),
        test_x=dataset.test_x[:test].clone(), test_y=dataset.test_y[:test].clone(), classes=dataset.classes,
        source=dataset.source, data_dir=dataset.data_dir,
    )


@pytest.fixture(scope="session")
def tiny(embedded):
    """300 train / 100 test images: projects, faults and recorded runs."""
    return slice_dataset(embedded, 300, 100, name=embedded.name)


@pytest.fixture(scope="session")
def make_settings():
    """`make_settings(**overrides)`: the gray family's defaults on the CPU, then `overrides`."""
    from app.engine.settings import defaults_for

    def make(**overrides):
        return defaults_for("gray", **{"device": "cpu", **overrides})

    return make


@pytest.fixture(scope="session")
def small(embedded):
    """600 train / 200 test images of the embedded dataset: fast enough for a whole run in seconds."""
    return slice_dataset(embedded, 600, 200)


def write_mnist_layout(folder, dataset, train: int, test: int) -> str:
    """The first images of `dataset` as MNIST IDX files: a dataset that other processes (sweep
    workers, torchrun ranks) load by name with --dataset mnist --data-dir FOLDER."""
    from tests.test_datasets import write_idx

    folder.mkdir(parents=True, exist_ok=True)
    for prefix, x, y, n in (("train", dataset.train_x, dataset.train_y, train), ("t10k", dataset.test_x, dataset.test_y, test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", x[:n, 0].numpy(), False)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", y[:n].numpy(), False)
    return str(folder)
