"""Released layouts (MNIST-C, CIFAR-10-C, Tiny-ImageNet-C): reading files written here in
exactly those layouts, clear errors for bad files, the writer round trip, the cache, the
corrupt / gallery commands and the All metric."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from app.cli.corrupt import corrupt_main, gallery_main
from app.engine.corruptions.digital import jpeg_roundtrip
from app.engine.corruptions import evaluate_suite, get_suite, load_suite, summarize, write_suite
from app.engine.data.dataset import Dataset
from app.errors import DatasetError

MNIST_C = get_suite("mnist-c")
IMAGENET_C = get_suite("imagenet-c")


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def gray_dataset(n=40, data_dir=None, seed=0, name="toy-gray"):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, 1, 28, 28, generator=g) * 255).to(torch.uint8)
    y = torch.randint(0, 10, (n,), generator=g)
    return Dataset(name, x[:0], y[:0], x, y, [str(i) for i in range(10)], data_dir=data_dir)


def colour_dataset(n=30, size=32, data_dir=None, classes=10, wnids=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.interpolate(torch.rand(n, 3, 8, 8, generator=g), size=size, mode="bilinear")
    x = (x * 255).to(torch.uint8)
    y = torch.arange(n) % classes
    extra = {"wnids": wnids} if wnids else {}
    names = wnids or [f"class{i}" for i in range(classes)]
    return Dataset(f"toy{size}", x[:0], y[:0], x, y, names, data_dir=data_dir, extra=extra)


# -- MNIST-C -----------------------------------------------------------------------------------

def write_mnist_c(root: Path, dataset, fill=None):
    """The release layout: mnist_c/<corruption>/test_images.npy (N, 28, 28, 1) uint8 + test_labels.npy."""
    for i, name in enumerate(("identity",) + MNIST_C.corruptions):
        folder = root / "mnist_c" / name
        folder.mkdir(parents=True)
        images = dataset.test_x.permute(0, 2, 3, 1).numpy().copy()
        images[:, 0, 0, 0] = i  # a marker per corruption
        np.save(folder / "test_images.npy", images)
        np.save(folder / "test_labels.npy", dataset.test_y.numpy().astype(np.uint8))


def test_released_mnist_c_is_read_and_the_gaussian_row_generated(tmp_path):
    dataset = gray_dataset(data_dir=str(tmp_path))
    write_mnist_c(tmp_path, dataset)
    loaded = load_suite(dataset, cache_dir=tmp_path / "cache")
    assert loaded["suite"] == "mnist-c"
    assert loaded["source"] == f"released:{(tmp_path / 'mnist_c').resolve()}"
    assert list(loaded["corruptions"]) == list(MNIST_C.corruptions)
    for i, name in enumerate(MNIST_C.corruptions, 1):
        (only,) = loaded["corruptions"][name]
        assert only.severity == 1 and only.images.shape == (40, 1, 28, 28) and only.images.dtype == torch.uint8
        assert int(only.images[0, 0, 0, 0]) == i
        assert torch.equal(only.images[:, :, 1:], dataset.test_x[:, :, 1:])
        assert torch.equal(only.labels, dataset.test_y)
    # the release has no Gaussian row: ours, σ 0.2 … 1.0
    assert [s.severity for s in loaded["gaussian"]] == [1, 2, 3, 4, 5]
    expected = MNIST_C.gaussian(dataset.test_x, 3, seed=0)
    assert loaded["gaussian"][2].images.float().sub(dataset.test_x.float()).abs().mean() > 20
    assert expected.shape == loaded["gaussian"][2].images.shape


def test_released_mnist_c_found_beside_the_dataset_folder(tmp_path):
    (tmp_path / "MNIST").mkdir()
    dataset = gray_dataset(data_dir=str(tmp_path / "MNIST"))
    write_mnist_c(tmp_path, dataset)
    assert load_suite(dataset, cache_dir=tmp_path / "cache")["source"].startswith("released:")


def test_a_suite_of_another_dataset_is_ignored_with_a_note(tmp_path):
    write_mnist_c(tmp_path, gray_dataset(seed=1))
    dataset = gray_dataset(data_dir=str(tmp_path), seed=2)  # same size, other labels (e.g. Fashion-MNIST)
    loaded = load_suite(dataset, cache_dir=tmp_path / "cache")
    assert loaded["source"] == "generated"
    assert "ignored" in loaded["note"] and "test_labels.npy" in loaded["note"]


def test_mnist_c_bad_files_give_one_line_errors(tmp_path):
    dataset = gray_dataset(data_dir=str(tmp_path))
    write_mnist_c(tmp_path, dataset)
    fog = tmp_path / "mnist_c" / "fog"

    np.save(fog / "test_images.npy", np.zeros((40, 28, 28, 3), np.uint8))  # wrong shape
    with pytest.raises(DatasetError, match=r"fog/test_images\.npy has shape \(40, 28, 28, 3\).*expected \(N, 28, 28, 1\)"):
        load_suite(dataset, cache_dir=tmp_path / "cache")

    np.save(fog / "test_images.npy", dataset.test_x.permute(0, 2, 3, 1).numpy())
    data = (fog / "test_images.npy").read_bytes()
    (fog / "test_images.npy").write_bytes(data[: len(data) // 2])  # truncated download
    with pytest.raises(DatasetError, match=r"fog/test_images\.npy is not a readable image \.npy file") as error:
        load_suite(dataset, cache_dir=tmp_path / "cache")
    assert "download mnist_c.zip again" in str(error.value) and "\n" not in str(error.value)

    np.save(fog / "test_images.npy", dataset.test_x.permute(0, 2, 3, 1).numpy())
    (fog / "test_labels.npy").unlink()
    with pytest.raises(DatasetError, match=r"fog/test_labels\.npy is missing"):
        load_suite(dataset, cache_dir=tmp_path / "cache")

    np.save(fog / "test_labels.npy", np.zeros(39, np.uint8))
    with pytest.raises(DatasetError, match="40 images but 39 labels"):
        load_suite(dataset, cache_dir=tmp_path / "cache")


# -- CIFAR-10-C --------------------------------------------------------------------------------

def write_cifar_c(root: Path, dataset, labels_repeated=True):
    """The release layout: <corruption>.npy (5·N, 32, 32, 3), severity-major, + labels.npy."""
    folder = root / "CIFAR-10-C"
    folder.mkdir(parents=True)
    n = len(dataset.test_x)
    clean = dataset.test_x.permute(0, 2, 3, 1).numpy()
    for i, name in enumerate(IMAGENET_C.corruptions):
        blocks = []
        for severity in range(1, 6):
            block = clean.copy()
            block[:, 0, 0, 0] = 10 * i + severity  # which corruption and severity
            block[:, 0, 1, 0] = np.arange(n)  # which test image
            blocks.append(block)
        np.save(folder / f"{name}.npy", np.concatenate(blocks))
    labels = dataset.test_y.numpy().astype(np.uint8)
    np.save(folder / "labels.npy", np.tile(labels, 5) if labels_repeated else labels)
    return folder


@pytest.mark.parametrize("labels_repeated", [True, False])
def test_released_cifar_c_rows_are_severity_major(tmp_path, labels_repeated):
    dataset = colour_dataset(data_dir=str(tmp_path))
    write_cifar_c(tmp_path, dataset, labels_repeated)
    loaded = load_suite(dataset, cache_dir=tmp_path / "cache")
    assert loaded["source"].startswith("released:") and loaded["source"].endswith("CIFAR-10-C")
    for i, name in enumerate(IMAGENET_C.corruptions):
        sets = loaded["corruptions"][name]
        assert [s.severity for s in sets] == [1, 2, 3, 4, 5]
        for s in sets:
            assert s.images.shape == (30, 3, 32, 32) and s.images.dtype == torch.uint8
            assert bool((s.images[:, 0, 0, 0] == 10 * i + s.severity).all())
            assert torch.equal(s.images[:, 0, 0, 1].long(), torch.arange(30))
            assert torch.equal(s.labels, dataset.test_y)
    # imagenet-c's Gaussian row is its gaussian_noise corruption
    assert loaded["gaussian"] == loaded["corruptions"]["gaussian_noise"]


def test_cifar_c_bad_files_give_one_line_errors(tmp_path):
    dataset = colour_dataset(data_dir=str(tmp_path))
    folder = write_cifar_c(tmp_path, dataset)
    (folder / "labels.npy").unlink()
    with pytest.raises(DatasetError, match=r"CIFAR-10-C/labels\.npy is missing: download CIFAR-10-C"):
        load_suite(dataset, cache_dir=tmp_path / "cache")
    np.save(folder / "labels.npy", np.zeros(7, np.uint8))
    with pytest.raises(DatasetError, match=r"holds 5 × 30 images but .*labels\.npy has 7 labels"):
        load_suite(dataset, cache_dir=tmp_path / "cache")
    np.save(folder / "labels.npy", np.tile(dataset.test_y.numpy().astype(np.uint8), 5))
    np.save(folder / "fog.npy", np.zeros((149, 32, 32, 3), np.uint8))  # not 5 × N rows
    with pytest.raises(DatasetError, match=r"fog\.npy has shape \(149, 32, 32, 3\).*expected \(5·N, H, W, 3\)"):
        load_suite(dataset, cache_dir=tmp_path / "cache")
    (folder / "fog.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(DatasetError, match=r"fog\.npy is not a readable image \.npy file"):
        load_suite(dataset, cache_dir=tmp_path / "cache")


# -- Tiny-ImageNet-C ---------------------------------------------------------------------------

def test_released_tiny_imagenet_c_uses_sorted_wnid_class_order(tmp_path):
    wnids = ["n01443537", "n01629819", "n01641577"]
    dataset = colour_dataset(n=6, size=64, classes=3, wnids=wnids, data_dir=str(tmp_path))
    root = tmp_path / "Tiny-ImageNet-C"
    for corruption in IMAGENET_C.corruptions:
        for severity in range(1, 6):
            for wnid in reversed(wnids):  # creation order must not matter
                folder = root / corruption / str(severity) / wnid
                folder.mkdir(parents=True)
                shade = 40 * wnids.index(wnid) + 5 * severity
                for k in range(2):
                    Image.new("RGB", (64, 64), (shade, 250 - shade, 100 + 60 * k)).save(
                        folder / f"val_{k}.JPEG", quality=85)
    loaded = load_suite(dataset, cache_dir=tmp_path / "cache")
    assert loaded["source"] == f"released:{root.resolve()}"
    sets = loaded["corruptions"]["frost"]
    assert [s.severity for s in sets] == [1, 2, 3, 4, 5]
    assert sets[0].labels.tolist() == [0, 0, 1, 1, 2, 2]
    for s in sets:
        red = s.images[:, 0].float().mean((1, 2))
        expected = torch.tensor([40.0 * c + 5 * s.severity for c in s.labels.tolist()])
        assert (red - expected).abs().max() < 4  # JPEG
        assert (s.images[1, 2].float().mean() - s.images[0, 2].float().mean()) > 50  # file order val_0, val_1
    # decoded once into the cache: the second load reads no JPEG
    labels = []
    again = load_suite(dataset, cache_dir=tmp_path / "cache", progress=lambda d, t, l: labels.append(l))
    assert all("cached" in l for l in labels) and torch.equal(again["corruptions"]["fog"][4].images,
                                                               loaded["corruptions"]["fog"][4].images)


def test_tiny_imagenet_c_missing_severity_is_an_error(tmp_path):
    wnids = ["n01", "n02"]
    dataset = colour_dataset(n=2, size=64, classes=2, wnids=wnids, data_dir=str(tmp_path))
    out = write_suite(dataset, tmp_path)
    for jpeg in (out / "snow" / "4" / "n02").iterdir():
        jpeg.unlink()
    (out / "snow" / "4" / "n02").rmdir()
    with pytest.raises(DatasetError, match=r"snow/4 has 1 class folders, expected the 2 wnids"):
        load_suite(dataset, cache_dir=tmp_path / "cache")


# -- writer round trips ------------------------------------------------------------------------

def test_mnist_c_writer_round_trip(tmp_path, embedded):
    dataset = Dataset("embedded", embedded.train_x[:0], embedded.train_y[:0], embedded.test_x[:120],
                      embedded.test_y[:120], embedded.classes)
    generated = load_suite(dataset, cache_dir=tmp_path / "cache")
    assert generated["source"] == "generated"
    root = write_suite(dataset, tmp_path / "out", seed=0)
    assert root == tmp_path / "out" / "mnist_c"
    identity = np.load(root / "identity" / "test_images.npy")
    assert identity.shape == (120, 28, 28, 1) and identity.dtype == np.uint8
    assert np.array_equal(identity[..., 0], dataset.test_x[:, 0].numpy())
    dataset.data_dir = str(tmp_path / "out")
    read_back = load_suite(dataset, cache_dir=tmp_path / "cache")
    assert read_back["source"] == f"released:{root.resolve()}"
    for name in MNIST_C.corruptions:
        assert torch.equal(read_back["corruptions"][name][0].images, generated["corruptions"][name][0].images), name


def test_cifar_c_writer_round_trip(tmp_path):
    dataset = colour_dataset(n=25, size=32)
    generated = load_suite(dataset, cache_dir=tmp_path / "cache")
    root = write_suite(dataset, tmp_path / "out")
    assert np.load(root / "fog.npy").shape == (125, 32, 32, 3)
    assert np.array_equal(np.load(root / "labels.npy"), np.tile(dataset.test_y.numpy(), 5))
    dataset.data_dir = str(tmp_path / "out")
    read_back = load_suite(dataset, cache_dir=tmp_path / "cache")
    assert read_back["source"].startswith("released:")
    for name in IMAGENET_C.corruptions:
        for a, b in zip(generated["corruptions"][name], read_back["corruptions"][name]):
            assert torch.equal(a.images, b.images), (name, a.severity)


def test_tiny_imagenet_c_writer_round_trip(tmp_path):
    wnids = ["n02", "n05", "n09"]
    dataset = colour_dataset(n=12, size=64, classes=3, wnids=wnids)
    generated = load_suite(dataset, cache_dir=tmp_path / "cache")
    root = write_suite(dataset, tmp_path / "out")
    files = sorted(p.relative_to(root / "contrast" / "2").as_posix() for p in (root / "contrast" / "2").rglob("*.JPEG"))
    assert files[:2] == ["n02/val_00.JPEG", "n02/val_03.JPEG"] and len(files) == 12
    dataset.data_dir = str(tmp_path / "out")
    read_back = load_suite(dataset, cache_dir=tmp_path / "cache")
    order = torch.argsort(dataset.test_y, stable=True)  # the folders group the images by class
    for name in IMAGENET_C.corruptions:
        for a, b in zip(generated["corruptions"][name], read_back["corruptions"][name]):
            assert torch.equal(b.labels, dataset.test_y[order])
            # the files are the generated images saved as JPEG quality 85, as Tiny-ImageNet-C's are
            assert torch.equal(b.images, jpeg_roundtrip(a.images[order], 85)), (name, a.severity)


# -- cache -------------------------------------------------------------------------------------

def test_generated_suite_is_cached_and_repaired(tmp_path):
    dataset = gray_dataset(n=30)
    steps = []
    first = load_suite(dataset, cache_dir=tmp_path / "cache", progress=lambda d, t, l: steps.append((d, t, l)))
    assert steps[-1][:2] == (20, 20)  # 15 corruptions + 5 Gaussian severities
    assert steps[0][2].startswith("mnist-c suite (")
    folder = Path(first["cache"])
    assert folder.parent == tmp_path / "cache" and (folder / "fog.npy").is_file()
    kept = {name: sets[0].images.clone() for name, sets in first["corruptions"].items()}
    del first  # release the memory maps before damaging a file
    (folder / "fog.npy").unlink()
    (folder / "fog.npy").write_bytes(b"damaged")
    steps.clear()
    second = load_suite(dataset, cache_dir=tmp_path / "cache", progress=lambda d, t, l: steps.append(l))
    assert sum("cached" not in l for l in steps) == 1  # only fog regenerated
    for name in MNIST_C.corruptions:
        assert torch.equal(kept[name], second["corruptions"][name][0].images)


def test_default_cache_honours_aqpl_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AQPL_CACHE_DIR", str(tmp_path / "elsewhere"))
    loaded = load_suite(gray_dataset(n=5))
    assert Path(loaded["cache"]).parent == tmp_path / "elsewhere" / "suites"


# -- the All metric ----------------------------------------------------------------------------

def test_all_is_the_mean_over_corruptions_of_the_mean_over_severities():
    scores = summarize([0.9, 0.7], {"a": [1.0, 0.0], "b": [0.25, 0.25, 0.25], "c": [0.8]})
    assert scores["gaussian"] == pytest.approx(0.8)
    assert scores["all"] == pytest.approx((0.5 + 0.25 + 0.8) / 3)
    assert scores["corruptions"]["a"] == {"mean": 0.5, "severities": [1.0, 0.0]}


def test_evaluate_suite_scores_every_set(tmp_path):
    dataset = gray_dataset(n=20)
    loaded = load_suite(dataset, cache_dir=tmp_path / "cache")
    always_three = lambda images: torch.full((len(images),), 3)
    scores = evaluate_suite(always_three, loaded, batch_size=7)
    share = float((dataset.test_y == 3).float().mean())
    assert scores["all"] == pytest.approx(share) and scores["gaussian"] == pytest.approx(share)
    assert set(scores["corruptions"]) == set(MNIST_C.corruptions)


# -- commands ----------------------------------------------------------------------------------

def test_corrupt_command_on_the_embedded_dataset(tmp_path, capsys):
    assert corrupt_main(["--dataset", "embedded", "--out", str(tmp_path), "--quiet"]) == 0
    assert "wrote mnist-c: 15 corruptions × 1 severity of 2000 embedded test images" in capsys.readouterr().out
    images = np.load(tmp_path / "mnist_c" / "zigzag" / "test_images.npy")
    labels = np.load(tmp_path / "mnist_c" / "zigzag" / "test_labels.npy")
    assert images.shape == (2000, 28, 28, 1) and labels.shape == (2000,)


def test_corrupt_command_errors_are_one_line(tmp_path, capsys):
    assert corrupt_main(["--dataset", "embedded", "--suite", "imagenet-c", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: imagenet-c corrupts RGB images") and err.count("\n") == 1
    assert corrupt_main(["--dataset", "embedded", "--out", str(tmp_path), "--limit", "0"]) == 2
    assert corrupt_main(["--dataset", "embedded"]) == 2  # argparse: --out is required


def test_gallery_command_draws_corruption_by_severity(tmp_path, capsys):
    out = tmp_path / "gallery.png"
    assert gallery_main(["--dataset", "embedded", "--out", str(out), "--images", "4"]) == 0
    picture = Image.open(out)
    assert picture.format == "PNG"
    # rows: clean + 15 corruptions + 5 Gaussian σ; 28-px images shown at 2× with a 2-px gap
    assert picture.height == 16 + 21 * (56 + 2) + 2
    assert gallery_main(["--dataset", "embedded", "--out", str(tmp_path / "g.jpg")]) == 2
    assert "name the output file *.png" in capsys.readouterr().err
