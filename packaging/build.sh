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

"$PYTHON" "$ROOT/packaging/bundle_size.py" "$BUNDLE" --build-seconds "$start" "$end" \
    --info "$BUILD_DIR/build-info.json"
echo
echo "run: $BUNDLE/aqpl-studio   (headless: $BUNDLE/aqpl-studio --simulate-oracle --dataset embedded --epochs 1)"
echo "desktop entry: $BUNDLE/aqpl-studio.desktop (copy it to ~/.local/share/applications/)"
