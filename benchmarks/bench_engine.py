"""Engine overhead, measured as ratios against plain PyTorch in the same run.

* AQPL epoch time vs a plain training loop of the same model and data that does the same
  arithmetic (GNT: noise on half the batch; CAT: the extra check forward and smoothed labels)
  with nothing else: no level table, no per-example seeds, no queue, no progress reports.
  Goal ≤ 1.05.
* Pool scoring (perturb every unqueried example at its level, one softmax pass) vs one plain
  inference pass over the same images. Goal ≤ 1.1.

    python benchmarks/bench_engine.py [--dataset fashion-mnist] [--repeats 3]

Runs alternate (plain, AQPL, plain, AQPL, ...) and the medians are compared, so background
load hits both sides alike.
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from app.engine.data import load_dataset
from app.engine.settings import defaults_for
from app.engine.trainer import Trainer
from models import build


def plain_epoch(model, optimizer, x_all, y_all, method, sigma, eta, eps_max, smoothing, seed):
    """The baseline: a torchvision-reference-style loop with the method's arithmetic inlined."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x_all), generator=generator)
    levels = torch.zeros(len(x_all))
    model.train()
    for start in range(0, len(x_all), 128):
        ids = order[start : start + 128]
        x = x_all[ids].float().div_(255)
        y = y_all[ids]
        noise = torch.randn(x.shape, generator=generator)
        if method == "gnt":
            eps = torch.where(torch.rand(len(ids), generator=generator) < 0.5, 0.0, sigma)
            loss_fn = lambda logits: F.cross_entropy(logits, y)
        else:
            tried = (levels[ids] + eta).clamp_max(eps_max)
            model.eval()
            with torch.no_grad():
                ok = model((x + tried.view(-1, 1, 1, 1) * noise).clamp(0, 1)).argmax(1) == y
            model.train()
            eps = torch.where(ok, tried, levels[ids])
            levels[ids] = eps
            target = (1 - smoothing * eps).unsqueeze(1) * F.one_hot(y, 10) + (smoothing * eps / 10).unsqueeze(1)
            loss_fn = lambda logits: -(target * F.log_softmax(logits, 1)).sum(1).mean()
        logits = model((x + eps.view(-1, 1, 1, 1) * noise).clamp(0, 1))
        loss = loss_fn(logits)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def aqpl_epoch(trainer: Trainer) -> None:
    """One epoch of the real trainer (no evaluation, no rounds: those are measured apart)."""
    steps = trainer.steps()
    target = trainer.step + trainer.batches
    while trainer.step < target:
        next(steps)
    steps.close()


@torch.no_grad()
def plain_inference(model, x_all):
    model.eval()
    for start in range(0, len(x_all), 1000):
        model(x_all[start : start + 1000].float().div_(255)).softmax(1)


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_dataset(args.dataset)
    print(f"{data!r}, torch {torch.__version__}, {torch.get_num_threads()} threads")

    print(f"\n{'method':10} {'plain s/epoch':>14} {'AQPL s/epoch':>13} {'ratio':>7}")
    for method in ("aqpl-gnt", "aqpl-cat"):
        settings = defaults_for(data.family, method=method, epochs=args.repeats + 1, eval_every=0, device="cpu")
        trainer = Trainer(settings, data)
        torch.manual_seed(0)
        model = build(settings.model, data.num_classes, data.in_channels, data.image_size)
        optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                                    weight_decay=settings.weight_decay, nesterov=True)
        base = method.removeprefix("aqpl-")
        plain, aqpl = [], []
        for repeat in range(args.repeats):
            plain.append(timed(lambda: plain_epoch(model, optimizer, data.train_x, data.train_y, base, settings.gnt_sigma,
                                                   settings.cat_eta, settings.cat_eps_max, settings.smoothing, repeat)))
            aqpl.append(timed(lambda: aqpl_epoch(trainer)))
        p, a = statistics.median(plain), statistics.median(aqpl)
        print(f"{method:10} {p:14.2f} {a:13.2f} {a / p:7.3f}")

    settings = defaults_for(data.family, method="aqpl-cat", epochs=1, eval_every=0, device="cpu")
    trainer = Trainer(settings, data)
    pool = trainer.book.eligible(len(data.train_x))
    trainer.table.level.uniform_(0, settings.cat_eps_max)  # realistic, non-zero levels
    plain, scored = [], []
    for _ in range(args.repeats):
        plain.append(timed(lambda: plain_inference(trainer.model, data.train_x)))
        scored.append(timed(lambda: trainer.score_pool(pool)))
    p, s = statistics.median(plain), statistics.median(scored)
    print(f"\npool scoring over {len(pool)} examples: plain inference {p:.2f} s, AQPL scoring {s:.2f} s, ratio {s / p:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
