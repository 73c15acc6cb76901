"""Packaging: the resource lookup from source and frozen (fast), and the PyInstaller bundles
themselves (slow: builds each flavour, runs the headless demo and a GUI smoke start from it).

    .venv/bin/python -m pytest tests/test_packaging.py                # fast tests only
    .venv/bin/python -m pytest -m slow tests/test_packaging.py -v     # build + run both bundles

The slow tests run once per flavour, cpu and cuda (docs/packaging.md). Each is built with
packaging/build.sh into a temporary folder (cpu: about 3 GB with its environment; cuda: about
10 GB, from this interpreter's CUDA torch, skipped if it is a CPU one; removed afterwards unless
AQPL_KEEP_BUNDLE=1). AQPL_TEST_FLAVOURS=cpu builds only that one; AQPL_CPU_PYTHON=.../bin/python
builds the cpu one from an existing CPU environment instead of making one.
AQPL_BUNDLE=/path/to/dist/aqpl-studio-cpu tests existing bundles instead of building any (several
separated by `:`; each one's flavour is read from its build-info.json; a flavour not given is skipped).
"""

import ast
import configparser
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import AQPLError
from app.resources import resource_path, resources_dir

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packaging"))
from bundle_size import CUDA_LIBRARY, cuda_files, tree_size  # noqa: E402  (what counts as CUDA: one list)

FLAVOURS = ("cpu", "cuda")
EMBEDDED_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                  "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "LICENSE.md")


# -- resource lookup from source ---------------------------------------------------------------
def test_resources_dir_is_the_projects_resources_folder_from_source():
    assert not hasattr(sys, "_MEIPASS")
    assert resources_dir() == ROOT / "resources"
    assert resource_path("defaults.toml") == ROOT / "resources" / "defaults.toml"
    assert resource_path("defaults.toml").is_file()
    for name in EMBEDDED_FILES:
        assert resource_path("data", "embedded", name).is_file()
    # the embedded dataset is small enough to ship (≤ 5 MB)
    assert sum(resource_path("data", "embedded", n).stat().st_size for n in EMBEDDED_FILES) <= 5 * 2**20


def test_application_icons_exist_for_the_bundle_and_the_desktop_entry():
    for name in ("aqpl-studio.svg", "aqpl-studio-256.png"):
        assert resource_path("icons", name).stat().st_size > 0
    from PIL import Image

    with Image.open(resource_path("icons", "aqpl-studio-256.png")) as icon:
        assert icon.size == (256, 256)


def test_a_missing_resource_is_a_one_line_error_naming_it():
    with pytest.raises(AQPLError) as caught:
        resource_path("data", "no-such-dataset", "train.gz")
    message = str(caught.value)
    assert "\n" not in message
    assert "data/no-such-dataset/train.gz" in message and str(resources_dir()) in message


def test_a_missing_resource_reaches_the_user_as_one_line_on_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)  # a bundle without its resources
    from app.cli.main import main

    code = main(["--simulate-oracle", "--method", "standard", "--epochs", "1", "--no-suite", "--quiet",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: resource ") and "missing" in err[-1]
    assert not any("Traceback" in line for line in err)


# -- resource lookup in a frozen layout --------------------------------------------------------
def test_frozen_lookup_uses_the_bundle_folder(tmp_path, monkeypatch):
    bundle = tmp_path / "_internal"
    shutil.copytree(ROOT / "resources", bundle / "resources", ignore=shutil.ignore_patterns("readme", "*.py"))
    # mark the copy so that reading it proves the lookup went there
    defaults = bundle / "resources" / "defaults.toml"
    defaults.write_text(defaults.read_text().replace("batch_size = 128", "batch_size = 96"))
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)

    assert resources_dir() == bundle / "resources"
    assert resource_path("defaults.toml") == defaults
    assert resource_path("icons", "aqpl-studio.svg").parent == bundle / "resources" / "icons"

    from app.engine.data import load_dataset
    from app.engine.settings import defaults_for

    assert defaults_for("gray").batch_size == 96
    dataset = load_dataset("embedded")
    assert len(dataset.train_x) > 0 and len(dataset.test_x) > 0

    # and nothing falls back to the source tree when the bundle lacks a file
    (bundle / "resources" / "defaults.toml").unlink()
    with pytest.raises(AQPLError, match="defaults.toml"):
        resource_path("defaults.toml")


def test_no_code_builds_its_own_path_to_resources():
    """Everything finds resources/ through app.resources (it alone knows the frozen layout):
    no other module names `_MEIPASS` or joins "resources" into a path of its own."""
    allowed = {
        # a developer tool that *writes* README screenshots relative to the working folder
        ("app/gui/screenshots.py", "resources/readme"),
    }
    offences = []
    for path in sorted([*ROOT.glob("app/**/*.py"), *ROOT.glob("models/**/*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "app/resources.py":
            continue
        source = path.read_text()
        tree = ast.parse(source)
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                text = node.value
                if (text == "resources" or text.startswith("resources/") or "/resources/" in text) and (rel, text) not in allowed:
                    offences.append(f"{rel}:{node.lineno}: {text!r}")
            if isinstance(node, (ast.Name, ast.Attribute)) and "_MEIPASS" in (getattr(node, "id", None) or getattr(node, "attr", "")):
                offences.append(f"{rel}:{node.lineno}: _MEIPASS")
        if "_MEIPASS" in source and not any("_MEIPASS" in o for o in offences if o.startswith(rel)):
            offences.append(f"{rel}: mentions _MEIPASS")
    assert not offences, "use app.resources.resource_path() instead:\n" + "\n".join(offences)


# -- packaging files ---------------------------------------------------------------------------
def test_desktop_entry_starts_the_bundle_with_the_projects_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "packaging" / "aqpl-studio.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Name"] == "AQPL Studio"
    assert desktop["Exec"].endswith("/aqpl-studio") and desktop["Terminal"] == "false"
    icon = desktop["Icon"]
    assert icon.endswith("/_internal/resources/icons/aqpl-studio.svg")
    assert (ROOT / icon.split("/_internal/", 1)[1]).is_file()  # the same file in the source tree
    assert desktop["Categories"].endswith(";")


def test_launcher_startup_probe_opens_and_closes_the_window_from_source(tmp_path):
    """The probe the bundle's smoke test and the start-up benchmark rely on, run from source."""
    env = isolated_env(tmp_path, AQPL_STARTUP_PROBE="window", AQPL_STARTUP_PROBE_TIMEOUT="120",
                       QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, str(ROOT / "packaging" / "launcher.py")], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    probed = probe_times(done.stdout)
    assert probed.keys() == {"first-window", "none-refs-lost"}
    assert probed["none-refs-lost"] < 200  # a sound Qt binding (4,000 on PySide6 6.12.0 with Python 3.11)
    assert "Traceback" not in done.stderr


def test_build_script_refuses_an_unknown_flavour(tmp_path):
    done = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, AQPL_FLAVOUR="gpu", AQPL_BUILD_DIR=str(tmp_path / "b")))
    assert done.returncode == 2 and "AQPL_FLAVOUR=gpu: use cpu or cuda" in done.stderr
    assert not (tmp_path / "b").exists()


def test_cuda_library_names_are_told_apart():
    cuda = ["libcudart.so.13", "libcudart.faf08d9a.so.13", "libnvjpeg.36e11081.so.13", "libcublasLt.so.13",
            "libcudnn_engines_precompiled.so.9", "libnccl.so.2", "libtorch_cuda.so", "libc10_cuda.so",
            "libcaffe2_nvrtc.so", "libnvrtc-builtins.so.13.0", "libtorch_nvshmem.so", "libnvJitLink.so.13"]
    other = ["libtorch_cpu.so", "libc10.so", "libcurl.so.4", "libcups.so.2", "libtorchvision_nogpu.so",
             "libQt6Core.so.6", "libgomp.so.1", "libnuma.so.1", "libjpeg.5980e1e3.so.8"]
    assert [n for n in cuda if not CUDA_LIBRARY.search(n)] == []
    assert [n for n in other if CUDA_LIBRARY.search(n)] == []


@pytest.mark.skipif(not all(shutil.which(t) for t in ("gcc", "nm")), reason="needs gcc and nm")
def test_torchvision_cpu_stub_defines_the_cuda_entry_points_with_their_versions(tmp_path):
    """The stub library packaging/torchvision_cpu.py builds for a CPU torchvision: each CUDA symbol
    an extension needs, with the symbol version it asks for; registration is harmless, the rest aborts."""
    from torchvision_cpu import stub_source

    symbols = {"__cudaRegisterFatBinary": ("libcudart.so.13", "FUNC"), "cudaGetLastError": ("libcudart.so.13", "FUNC"),
               "nvjpegCreateSimple": ("libnvjpeg.so.13", "FUNC"), "_ZN3c104cuda12device_countEv": ("", "FUNC"),
               "_ZN3c104cuda20CUDACachingAllocator9allocatorE": ("", "OBJECT")}
    source, script = stub_source(symbols)
    (tmp_path / "s.c").write_text(source)
    (tmp_path / "s.map").write_text(script)
    stub = tmp_path / "libstub.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(stub), str(tmp_path / "s.c"),
                    f"-Wl,--version-script={tmp_path / 's.map'}"], check=True)
    exported = subprocess.run(["nm", "-D", "--defined-only", str(stub)], capture_output=True, text=True,
                              check=True).stdout
    for name, (version, kind) in symbols.items():
        assert f" {name}@@{version or 'TORCHVISION_NOGPU'}" in exported, name
    assert " B _ZN3c104cuda20CUDACachingAllocator9allocatorE@@" in exported  # data, zeroed
    import ctypes

    lib = ctypes.CDLL(str(stub))
    register = getattr(lib, "__cudaRegisterFatBinary")
    register.restype = ctypes.c_void_p
    assert register(None)  # a handle: loading torchvision's CUDA kernels does nothing
    device_count = getattr(lib, "_ZN3c104cuda12device_countEv")
    device_count.restype = ctypes.c_int8
    assert device_count() == 0
    aborted = subprocess.run([sys.executable, "-c", f"import ctypes; ctypes.CDLL({str(stub)!r}).cudaGetLastError()"],
                             capture_output=True, text=True, timeout=60)
    assert aborted.returncode != 0 and "cudaGetLastError needs CUDA" in aborted.stderr


# -- helpers -----------------------------------------------------------------------------------
def isolated_env(tmp_path: Path, **extra) -> dict:
    """The user's folders (settings, projects, cache) inside tmp_path."""
    env = dict(os.environ)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[name] = str(tmp_path / name.lower())
    env["AQPL_CACHE_DIR"] = str(tmp_path / "aqpl-cache")
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def probe_times(stdout: str) -> dict[str, float]:
    times = {}
    for line in stdout.splitlines():
        if line.startswith("AQPL_PROBE "):
            parts = line.split()
            if len(parts) == 3:
                times[parts[1]] = float(parts[2])
    return times


# -- the bundle (slow) -------------------------------------------------------------------------
def bundle_flavour(path: Path) -> str:
    """cpu or cuda, as build.sh wrote it into the bundle (an older bundle without it: by its contents)."""
    info = path / "build-info.json"
    if info.is_file():
        return json.loads(info.read_text())["flavour"]
    return "cuda" if (path / "_internal" / "nvidia").is_dir() else "cpu"


@pytest.fixture(scope="module", params=FLAVOURS)
def bundle(request, tmp_path_factory):
    flavour = request.param
    existing = os.environ.get("AQPL_BUNDLE")
    if existing:
        given = {}
        for item in filter(None, existing.split(os.pathsep)):
            path = Path(item)
            assert (path / "aqpl-studio").is_file(), f"AQPL_BUNDLE: {item} holds no aqpl-studio executable"
            given[bundle_flavour(path)] = path
        if flavour not in given:
            pytest.skip(f"AQPL_BUNDLE gives no {flavour} bundle")
        yield given[flavour]
        return
    if flavour not in os.environ.get("AQPL_TEST_FLAVOURS", ",".join(FLAVOURS)).split(","):
        pytest.skip(f"AQPL_TEST_FLAVOURS leaves out {flavour}")
    if shutil.which("bash") is None:
        pytest.skip("bash is needed for packaging/build.sh")
    env = dict(os.environ, AQPL_FLAVOUR=flavour)
    env.pop("PYTHON", None)
    if flavour == "cuda":
        import torch

        if torch.version.cuda is None:
            pytest.skip(f"this interpreter's torch ({torch.__version__}) is a CPU build: no CUDA bundle to build from it")
        env["PYTHON"] = sys.executable
    elif os.environ.get("AQPL_CPU_PYTHON"):
        env["PYTHON"] = os.environ["AQPL_CPU_PYTHON"]
    build_dir = tmp_path_factory.mktemp(f"bundle-build-{flavour}")
    env["AQPL_BUILD_DIR"] = str(build_dir)
    done = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], env=env, capture_output=True, text=True,
                          timeout=3 * 3600)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert "bundle:" in done.stdout and "build" in done.stdout
    info = json.loads((build_dir / "build-info.json").read_text())
    assert info["bytes"] > 0 and info["build_seconds"] > 0
    path = build_dir / "dist" / f"aqpl-studio-{flavour}"
    assert bundle_flavour(path) == flavour
    yield path
    if os.environ.get("AQPL_KEEP_BUNDLE") != "1":
        shutil.rmtree(build_dir, ignore_errors=True)


def run_bundle(bundle: Path, tmp_path: Path, *argv, timeout=1800, command=None, **env):
    return subprocess.run(command or [str(bundle / "aqpl-studio"), *argv], env=isolated_env(tmp_path, **env),
                          cwd=tmp_path, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_bundle_holds_resources_qt_plugins_and_no_trimmed_parts(bundle):
    internal = bundle / "_internal"
    assert (bundle / "aqpl-studio").stat().st_mode & 0o111
    assert (internal / "resources" / "defaults.toml").is_file()
    for name in EMBEDDED_FILES:
        assert (internal / "resources" / "data" / "embedded" / name).is_file()
    assert (internal / "resources" / "icons" / "aqpl-studio.svg").is_file()
    assert (internal / "resources" / "icons" / "aqpl-studio-256.png").is_file()
    assert not (internal / "resources" / "readme").exists()  # README screenshots stay out

    import PySide6

    source_plugins = Path(PySide6.__file__).parent / "Qt" / "plugins"
    plugins = internal / "PySide6" / "Qt" / "plugins"
    for plugin in ("platforms/libqxcb.so", "platforms/libqoffscreen.so", "imageformats/libqsvg.so",
                   "iconengines/libqsvgicon.so"):
        assert (plugins / plugin).is_file(), plugin
    for wayland in sorted(source_plugins.glob("platforms/libqwayland*.so")):  # where PySide6 ships them
        assert (plugins / "platforms" / wayland.name).is_file(), wayland.name
    assert list(internal.glob("matplotlib/backends/_backend_agg*.so"))
    assert (internal / "torch" / "lib").is_dir() and list(internal.glob("torchvision/_C*.so"))
    assert not (internal / "triton").exists()
    assert not list(internal.rglob("_tkinter*.so")) and not (internal / "tkinter").exists()
    assert not (internal / "torch" / "include").exists()


@pytest.mark.slow
def test_bundle_flavour_carries_cuda_only_in_the_cuda_bundle(bundle):
    """The CPU bundle (the default download) holds no CUDA library at all and stays under 1 GiB;
    the CUDA bundle holds what torch needs to use an NVIDIA GPU."""
    info = json.loads((bundle / "build-info.json").read_text())
    internal = bundle / "_internal"
    found = cuda_files(bundle)
    if info["flavour"] == "cpu":
        assert info["cuda"] is None, info
        assert not found, f"{len(found)} CUDA files in the CPU bundle: " + ", ".join(str(f.relative_to(bundle)) for f in found[:10])
        size = tree_size(bundle)
        assert size < 2**30, f"the CPU bundle is {size / 2**20:,.0f} MiB"
        assert not (internal / "torch" / "lib" / "libtorch_cuda.so").exists()
    else:
        assert info["flavour"] == "cuda" and info["cuda"], info
        assert (internal / "torch" / "lib" / "libtorch_cuda.so").is_file()
        assert (internal / "nvidia").is_dir() and any(f.name.startswith("libcudart") for f in found)
        assert any(f.name.startswith("libcudnn") for f in found)


@pytest.mark.slow
def test_bundle_runs_the_headless_demo(bundle, tmp_path):
    out = tmp_path / "out"
    # AQPL-CAT with the simulated oracle (reference model, conform levels, one query round),
    # tiny: 2 epochs (1 of warm-up), a 1-epoch reference model, 1% budget; suites: see the gallery test
    done = run_bundle(bundle, tmp_path, "--simulate-oracle", "--dataset", "embedded", "--epochs", "2",
                      "--method", "aqpl-cat", "--reference-epochs", "1", "--warmup-epochs", "1", "--budget", "1%",
                      "--no-suite", "--quiet", "--out", str(out))
    assert done.returncode == 0, done.stderr[-5000:]
    assert "Clean" in done.stdout and "AQPL-CAT" in done.stdout
    results = json.loads((out / "results.json").read_text())
    entry = results["methods"]["aqpl-cat"]
    assert 10 < entry["clean"]["mean"] <= 100 and entry["queries_used"] == [60]
    assert (out / "results.md").is_file() and (out / "curves.png").stat().st_size > 5000
    assert (out / "levels" / "aqpl-cat-seed0.csv").is_file()
    # the model the bundle exported loads here, without the project's code
    import torch

    program = torch.export.load(out / "models" / "aqpl-cat-seed0.pt2")
    assert program.module()(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    # whatever the run wrote went to the user's folders, never into the bundle (the reference model is
    # not even trained here: the simulated expert's levels for the embedded set ship with the program)
    stamp = bundle / "build-info.json"  # build.sh writes it last
    if stamp.is_file():
        written = [f for f in bundle.rglob("*") if f.is_file() and f.stat().st_mtime > stamp.stat().st_mtime]
        assert not written, written[:5]


@pytest.mark.slow
def test_bundle_draws_the_corruption_gallery(bundle, tmp_path):
    """All fifteen corruptions from the bundle, JPEG included (torchvision's image extension)."""
    out = tmp_path / "gallery.png"
    done = run_bundle(bundle, tmp_path, "gallery", "--dataset", "embedded", "--images", "1", "--out", str(out),
                      timeout=900, TORCHVISION_WARN_WHEN_EXTENSION_LOADING_FAILS="1")
    assert done.returncode == 0, done.stderr[-5000:]
    assert out.stat().st_size > 10_000
    assert "Failed to load" not in done.stderr


@pytest.mark.slow
def test_bundle_gives_one_line_errors(bundle, tmp_path):
    done = run_bundle(bundle, tmp_path, "--simulate-oracle", "--dataset", "nonsense", timeout=600)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and done.stderr.startswith("error:")


@pytest.mark.slow
def test_bundle_gui_smoke_start_offscreen(bundle, tmp_path):
    done = run_bundle(bundle, tmp_path, timeout=600, QT_QPA_PLATFORM="offscreen", AQPL_STARTUP_PROBE="window",
                      AQPL_STARTUP_PROBE_TIMEOUT="300")
    assert done.returncode == 0, done.stderr[-5000:]
    assert "first-window" in probe_times(done.stdout)
    assert probe_times(done.stdout)["none-refs-lost"] < 200  # the bundle's Qt binding keeps None alive
    assert "Traceback" not in done.stderr and "Could not load the Qt platform plugin" not in done.stderr
    assert (tmp_path / "xdg_config_home").exists()  # settings went to the user's folder, not the bundle


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is not installed")
def test_bundle_gui_smoke_start_on_an_x_server(bundle, tmp_path):
    """The xcb platform plugin (what a Linux desktop uses) from the bundle, on Xvfb."""
    done = run_bundle(bundle, tmp_path, timeout=600, command=["xvfb-run", "-a", str(bundle / "aqpl-studio")],
                      QT_QPA_PLATFORM="xcb", AQPL_STARTUP_PROBE="window", AQPL_STARTUP_PROBE_TIMEOUT="300")
    assert done.returncode == 0, done.stderr[-5000:]
    assert "first-window" in probe_times(done.stdout)
    assert "Traceback" not in done.stderr and "Could not load the Qt platform plugin" not in done.stderr
