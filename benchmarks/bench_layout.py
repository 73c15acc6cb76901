"""Memory layout of the models: channels-last against NCHW, as ratios measured in the same run.

Every model is built in channels-last memory (models/registry.py). This benchmark shows what
that buys on this machine: training steps (batch 128, SGD) and inference (batch 1000, eval
mode) of the same network with the same weights, NCHW then channels-last, alternating, medians.

    python benchmarks/bench_layout.py [--model small-cnn] [--threads 1,2] [--repeats 5]
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from models import build


def images_for(model_name: str) -> tuple[torch.Tensor, int, int]:
    """Random images of the model's usual input: (N, C, H, W), channels, size."""
    channels, size = (1, 28) if model_name.startswith("small-cnn") else (3, 32)
    return torch.rand(2000, channels, size, size), channels, size


def train_rate(model, x, y) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    start = time.perf_counter()
    for s in range(0, len(x), 128):
        loss = F.cross_entropy(model(x[s : s + 128]), y[s : s + 128])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return len(x) / (time.perf_counter() - start)


@torch.no_grad()
def inference_rate(model, x) -> float:
    model.eval()
    start = time.perf_counter()
    for s in range(0, len(x), 1000):
        model(x[s : s + 1000])
    return len(x) / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="small-cnn")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    x, channels, size = images_for(args.model)
    y = torch.randint(0, 10, (len(x),))
    layouts = {"nchw": torch.contiguous_format, "channels-last": torch.channels_last}
    print(f"{args.model}, {len(x)} images {channels}×{size}×{size}, medians of {args.repeats} alternating repeats")
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        rates = {(layout, kind): [] for layout in layouts for kind in ("train", "inference")}
        for repeat in range(args.repeats + 1):  # the first repeat warms up and is dropped
            for layout, memory_format in layouts.items():
                torch.manual_seed(0)
                model = build(args.model, 10, channels, size).to(memory_format=memory_format)
                train, infer = train_rate(model, x, y), inference_rate(model, x)
                if repeat:
                    rates[layout, "train"].append(train)
                    rates[layout, "inference"].append(infer)
        for kind in ("train", "inference"):
            nchw, last = (statistics.median(rates[layout, kind]) for layout in layouts)
            print(f"  {threads} thread(s), {kind:9s}: NCHW {nchw:7.0f} img/s, channels-last {last:7.0f} img/s, "
                  f"ratio {last / nchw:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
