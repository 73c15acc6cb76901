#!/usr/bin/env bash
# Build the one-folder bundle of AQPL Studio with PyInstaller (packaging/aqpl-studio.spec).
#
#   bash packaging/build.sh                 # builds into ../build-aqpl/dist/aqpl-studio (outside the repo)
#   AQPL_BUILD_DIR=/somewhere bash packaging/build.sh
#
# Environment: PYTHON (default: the project's .venv, else python3), AQPL_BUILD_DIR (where work/
# and dist/ go; default: build-aqpl beside the project folder), AQPL_BUILD_CLEAN=0 (reuse
# PyInstaller's cache from an earlier build: faster, the time is then not a clean-build time),
# AQPL_BUNDLE_TRIM=0 (no trimming, see the spec). Prints the bundle folder, its size with the
# largest parts, and the build time; writes the same to AQPL_BUILD_DIR/build-info.json.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
BUILD_DIR=${AQPL_BUILD_DIR:-$(dirname "$ROOT")/build-aqpl}
BUNDLE="$BUILD_DIR/dist/aqpl-studio"

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "error: PyInstaller is not installed for $PYTHON: run \`$PYTHON -m pip install -e '.[package]'\` (pyinstaller>=6.3,<7)" >&2
    exit 2
fi
if ! "$PYTHON" -c "import app.cli.main, torch, PySide6, pyqtgraph, matplotlib" 2>/dev/null; then
    echo "error: $PYTHON cannot import the application and its dependencies: install them first (README, Quick start)" >&2
    exit 2
fi

mkdir -p "$BUILD_DIR"
free_kb=$(df -Pk "$BUILD_DIR" | awk 'NR==2 {print $4}')
if (( free_kb < 12 * 1024 * 1024 )); then
    echo "warning: only $(( free_kb / 1024 )) MB free in $BUILD_DIR; a bundle with CUDA torch needs about 10 GB while building" >&2
fi

clean=(--clean)
[[ "${AQPL_BUILD_CLEAN:-1}" == 0 ]] && clean=()
echo "building $BUNDLE with $("$PYTHON" -c 'import PyInstaller, torch; print(f"PyInstaller {PyInstaller.__version__}, torch {torch.__version__}")')"
start=$(date +%s.%N)
rm -rf "$BUNDLE"
"$PYTHON" -m PyInstaller --noconfirm "${clean[@]}" --log-level "${AQPL_BUILD_LOG_LEVEL:-WARN}" \
    --distpath "$BUILD_DIR/dist" --workpath "$BUILD_DIR/work" "$ROOT/packaging/aqpl-studio.spec"
end=$(date +%s.%N)

# the desktop entry, pointing at this bundle
sed -e "s|^Exec=.*|Exec=$BUNDLE/aqpl-studio|" \
    -e "s|^Icon=.*|Icon=$BUNDLE/_internal/resources/icons/aqpl-studio.svg|" \
    -e "s|^TryExec=.*|TryExec=$BUNDLE/aqpl-studio|" \
    "$ROOT/packaging/aqpl-studio.desktop" > "$BUNDLE/aqpl-studio.desktop"

"$PYTHON" - "$BUNDLE" "$start" "$end" "$BUILD_DIR/build-info.json" <<'PY'
import json, sys
from pathlib import Path

bundle, start, end, info = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])


def size(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


internal = bundle / "_internal"
total = size(bundle)
groups = {
    "CUDA libraries (nvidia/)": [internal / "nvidia"],
    "torch CUDA parts (libtorch_cuda*, libc10_cuda, nvrtc, nvshmem)": [
        *internal.glob("torch/lib/libtorch_cuda*.so*"), *internal.glob("torch/lib/libc10_cuda.so*"),
        *internal.glob("torch/lib/libcaffe2_nvrtc.so*"), *internal.glob("torch/lib/libtorch_nvshmem.so*"),
    ],
    "cuda-bindings (cuda/)": [internal / "cuda"],
}
cuda = {name: sum(size(p) for p in paths) for name, paths in groups.items()}
parts = sorted(((size(p), p.name) for p in internal.iterdir()), reverse=True)
libs = sorted(((size(p), p.name) for p in (internal / "torch" / "lib").glob("*")), reverse=True) if (internal / "torch" / "lib").is_dir() else []
mb = lambda n: f"{n / 2**20:,.0f} MB"
print(f"\nbundle: {bundle}")
print(f"  size {mb(total)} ({total / 2**30:.2f} GiB), build {float(end) - float(start):.0f} s")
print("  largest parts of _internal/:")
for n, name in parts[:12]:
    print(f"    {mb(n):>10}  {name}")
print("  torch/lib:")
for n, name in libs[:6]:
    print(f"    {mb(n):>10}  {name}")
print(f"  CUDA in this bundle: {mb(sum(cuda.values()))}: " + ", ".join(f"{k} {mb(v)}" for k, v in cuda.items()))
print(f"\nrun: {bundle}/aqpl-studio   (headless: {bundle}/aqpl-studio --simulate-oracle --dataset embedded --epochs 1)")
print(f"desktop entry: {bundle}/aqpl-studio.desktop (copy it to ~/.local/share/applications/)")
info.write_text(json.dumps({
    "bundle": str(bundle), "bytes": total, "build_seconds": round(end - start, 1),
    "parts": {name: n for n, name in parts}, "torch_lib": {name: n for n, name in libs}, "cuda_bytes": cuda,
}, indent=1))
PY
