"""Level propagation: how well it predicts answers it was not fitted on, and what it costs.

    python benchmarks/bench_propagate.py [--dataset embedded] [--epochs 3] [--share 0.05]

1. The learner (small CNN, `--epochs` of GNT training) supplies the penultimate-layer features.
2. Against the 100 hand-given answers (resources/human/calibration.csv, embedded ids; only with
   `--dataset embedded`): 10-fold cross-validation of each predictor.
3. Against the calibrated simulated expert on the whole training set: a random `--share` of
   the examples is "answered", every other example predicted; mean absolute difference and
   rank correlation on the unanswered ones.
4. Cost, measured in the same run: one propagation (the clean feature pass over the pool and
   the prediction) as a share of one training epoch (its batches alone, no evaluation) and of
   the round's pool scoring; alternating, medians of 3.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.data.dataset import to_float  # noqa: E402
from app.engine.data.registry import load_dataset  # noqa: E402
from app.engine.oracle import PerceptualOracle  # noqa: E402
from app.engine.oracle.calibration import agreement, load_calibration  # noqa: E402
from app.engine.propagate import PenultimateFeatures, by_class, by_neighbours  # noqa: E402
from app.engine.settings import defaults_for  # noqa: E402
from app.engine.evaluate import EVAL_BATCH  # noqa: E402
from app.engine.trainer import Trainer  # noqa: E402


def features_of(model, images):
    model.eval()
    with torch.no_grad(), PenultimateFeatures(model) as hook:
        for start in range(0, len(images), EVAL_BATCH):  # as the trainer's scoring loop
            model(to_float(images[start : start + EVAL_BATCH]))
    model.train()
    return torch.cat(hook.batches)


def epoch_seconds(trainer) -> float:
    """One training epoch's batches (the trainer's own step), without any evaluation."""
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(trainer.train_x), generator=generator)
    size = trainer.settings.batch_size
    started = time.perf_counter()
    for batch in range(trainer.batches):
        trainer.train_batch(order[batch * size : (batch + 1) * size], 0, generator)
    return time.perf_counter() - started


def predictors(labels, features, answered, answers, classes, grid):
    return {
        "class": by_class(labels, answered, answers, classes),
        "neighbours": by_neighbours(features, answered, answers, grid),
    }


def show(name, stats):
    print(f"  {name:12s} MAE {stats['mae']:.3f}  rank corr {stats['rank_correlation']:.3f}  "
          f"mean {stats['mean_predicted']:.3f} (truth {stats['mean_answers']:.3f})  within 0.1 {stats['within_one_step']:.0%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--share", type=float, default=0.05)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_dataset(args.dataset)
    settings = defaults_for(data.family, method="gnt", epochs=args.epochs, eval_every=0)
    trainer = Trainer(settings, data)
    trainer.run()
    features = features_of(trainer.model, data.train_x)
    grid, labels = settings.grid, data.train_y
    print(f"learner: {args.epochs} epochs of GNT, clean accuracy {trainer.result.clean:.1f}%")

    if args.dataset == "embedded":
        calibration = load_calibration()
        ids, truth = calibration.embedded_ids, calibration.levels
        fold_of = (torch.arange(len(ids)) % 10)[torch.randperm(len(ids), generator=torch.Generator().manual_seed(0))]
        predicted = {"class": torch.zeros(len(ids)), "neighbours": torch.zeros(len(ids))}
        for fold in range(10):
            train, test = fold_of != fold, fold_of == fold
            sub = features[ids]
            got = predictors(labels[ids], sub, torch.nonzero(train).flatten(), truth[train], data.num_classes, grid)
            for name in predicted:
                predicted[name][test] = got[name][test]
        print(f"\nagainst the {len(ids)} hand-given answers, 10-fold cross-validated (fitted on 90, scored on 10):")
        for name, levels in predicted.items():
            show(name, agreement(levels, truth))
        show("constant 0.3", agreement(torch.full_like(truth, 0.3), truth))

    expert = PerceptualOracle(data, grid, settings.oracle_tau, settings.oracle_blur).levels()
    n = len(expert)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(1))
    answered = order[: int(args.share * n)].sort().values
    rest = order[int(args.share * n):]
    got = predictors(labels, features, answered, expert[answered], data.num_classes, grid)
    print(f"\nagainst the simulated expert: {len(answered):,} answers ({args.share:.0%}), {len(rest):,} examples predicted:")
    for name, levels in got.items():
        show(name, agreement(levels[rest], expert[rest]))

    timings = {"epoch": [], "scoring": [], "features": [], "knn": [], "class": []}
    for _ in range(3):  # alternating, so that background load hits every part alike
        timings["epoch"].append(epoch_seconds(trainer))
        started = time.perf_counter()
        trainer.score_pool(rest.sort().values)
        timings["scoring"].append(time.perf_counter() - started)
        started = time.perf_counter()
        pool_features = features_of(trainer.model, data.train_x[rest])
        timings["features"].append(time.perf_counter() - started)
        started = time.perf_counter()
        by_neighbours(torch.cat((pool_features, features[answered])), torch.arange(len(rest), len(rest) + len(answered)),
                      expert[answered], grid)
        timings["knn"].append(time.perf_counter() - started)
        started = time.perf_counter()
        by_class(labels, answered, expert[answered], data.num_classes)
        timings["class"].append(time.perf_counter() - started)
    epoch_s, scoring_s, feature_s, knn_s, class_s = (statistics.median(timings[k]) for k in timings)
    print(f"\ncost per round (medians of 3, one thread): a training epoch {epoch_s:.2f} s, "
          f"the round's pool scoring ({len(rest):,} examples, 2 draws) {scoring_s:.2f} s")
    print(f"  class       {class_s * 1000:.1f} ms  ({class_s / epoch_s:.2%} of an epoch)")
    print(f"  neighbours  clean feature pass {feature_s:.2f} s ({feature_s / epoch_s:.1%} of an epoch, "
          f"{feature_s / scoring_s:.0%} of the scoring) + k-NN {knn_s * 1000:.0f} ms ({knn_s / epoch_s:.2%} of an epoch)")

if __name__ == "__main__":
    main()
