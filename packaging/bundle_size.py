"""What a built bundle weighs: its largest parts, torch/lib, and what CUDA costs. Used by
packaging/build.sh (printed after each build, saved in build-info.json) and by
benchmarks/bench_bundle.py.

    python packaging/bundle_size.py BUNDLE [--build-seconds START END] [--info build-info.json]
"""

import argparse
import json
import re
from pathlib import Path

MB = 2**20
# CUDA's libraries by name: the runtime and its maths/codec/communication libraries (nvidia-* wheels,
# torchvision.libs), torch's and c10's CUDA parts, NVRTC, NVSHMEM; not libcurl, libcups, ...
CUDA_LIBRARY = re.compile(
    r"^lib(cuda|cudart|cublas|cudnn|cufft|cufile|curand|cusolver|cusparse|cupti|nvrtc|nvjpeg|nvjitlink|nvtoolsext"
    r"|nvshmem|nvblas|nvperf|nccl|nvidia-ml)|_cuda[._]|_nvrtc|nvshmem", re.IGNORECASE)
SHARED_LIBRARY = re.compile(r"\.so(\.|$)|\.dll$|\.dylib$")
CUDA_FOLDERS = ("nvidia", "cuda", "triton")  # nvidia-* wheels, cuda-bindings, triton (GPU code generator)


def tree_size(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _sizes(paths) -> dict[str, int]:
    """name → bytes, largest first."""
    return dict((name, n) for n, name in sorted(((tree_size(p), p.name) for p in paths), reverse=True))


def cuda_files(bundle: Path) -> list[Path]:
    """Every CUDA library in the bundle (by name) and everything in the CUDA packages' folders:
    what a CPU bundle must not hold."""
    internal = bundle / "_internal"
    found = [f for f in bundle.rglob("*") if f.is_file() and SHARED_LIBRARY.search(f.name) and CUDA_LIBRARY.search(f.name)]
    for folder in CUDA_FOLDERS:
        if (internal / folder).is_dir():
            found += [f for f in (internal / folder).rglob("*") if f.is_file()]
    return sorted(set(found))


def bundle_size(bundle: Path) -> dict:
    internal = bundle / "_internal"
    torch_lib = internal / "torch" / "lib"
    nvidia = internal / "nvidia"
    cuda_parts = {
        "nvidia/ (CUDA runtime, cuBLAS, cuDNN, cuFFT, cuSPARSE, NCCL, ...)": [nvidia],
        "torch CUDA libraries (libtorch_cuda*, libc10_cuda, nvrtc, nvshmem)": [
            *torch_lib.glob("libtorch_cuda*.so*"), *torch_lib.glob("libc10_cuda.so*"),
            *torch_lib.glob("libcaffe2_nvrtc.so*"), *torch_lib.glob("libtorch_nvshmem.so*")],
        "cuda-bindings (cuda/)": [internal / "cuda"],
    }
    cuda = {name: sum(tree_size(p) for p in paths) for name, paths in cuda_parts.items()}
    every_cuda_file = cuda_files(bundle)
    return {
        "cuda_files": len(every_cuda_file), "cuda_files_bytes": sum(tree_size(f) for f in every_cuda_file),
        "bytes": tree_size(bundle), "files": sum(1 for f in bundle.rglob("*") if f.is_file()),
        "parts": _sizes(internal.iterdir()), "torch_lib": _sizes(torch_lib.glob("*")) if torch_lib.is_dir() else {},
        "nvidia": _sizes(nvidia.iterdir()) if nvidia.is_dir() else {}, "cuda": cuda, "cuda_bytes": sum(cuda.values()),
    }


def size_lines(size: dict) -> list[str]:
    return [
        f"bundle: {size['bytes'] / MB:,.0f} MB ({size['bytes'] / 2**30:.2f} GiB) in {size['files']:,} files",
        "largest parts: " + ", ".join(f"{name} {n / MB:,.0f} MB" for name, n in list(size["parts"].items())[:8]),
        "torch/lib: " + ", ".join(f"{name} {n / MB:,.0f} MB" for name, n in list(size["torch_lib"].items())[:5]),
        f"CUDA: {size['cuda_bytes'] / MB:,.0f} MB (" + ", ".join(f"{k} {v / MB:,.0f} MB" for k, v in size["cuda"].items())
        + f"); CUDA libraries anywhere: {size['cuda_files']} files, {size['cuda_files_bytes'] / MB:,.0f} MB",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--build-seconds", type=float, nargs=2, metavar=("START", "END"),
                        help="the build's start and end (Unix time, as `date +%%s.%%N` prints)")
    parser.add_argument("--info", type=Path, help="write the sizes (and the build time) here as JSON")
    args = parser.parse_args(argv)
    size = bundle_size(args.bundle)
    seconds = args.build_seconds[1] - args.build_seconds[0] if args.build_seconds else 0.0
    print(f"\nbundle: {args.bundle}")
    for line in size_lines(size)[1:]:
        print(f"  {line}")
    print(f"  size {size['bytes'] / MB:,.0f} MB, build {seconds:.0f} s")
    if args.info:
        info = {"bundle": str(args.bundle), "build_seconds": round(seconds, 1), **size}
        args.info.write_text(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
