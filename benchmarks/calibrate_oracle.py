"""Fit the simulated expert (recipe `perceptual`) on hand-given answers and report its agreement
by cross-validation (docs/method.md, "Oracles"; targets from issue 9).

    python benchmarks/calibrate_oracle.py [--folds 10] [--fashion-mnist DIR] [--answers CSV]

Prints, for the calibration answers (resources/human/calibration.csv unless --answers):
* 10-fold cross-validated agreement: each fold's levels come from (blur, τ) fitted on the other
  nine folds, never on the answers they are scored against; plus a constant-0.3 baseline;
* the parameters fitted on all answers (the defaults in resources/defaults.toml);
* with those parameters, the level distribution on the whole embedded training set and on the
  full Fashion-MNIST (shares at either end of the grid), the agreement through the images' full
  Fashion-MNIST ids (other noise patterns: the ids key the noise), and the time the full
  training set's levels take.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.data.dataset import to_float  # noqa: E402
from app.engine.data.registry import load_dataset  # noqa: E402
from app.engine.oracle.calibration import agreement, cross_validate, fit, levels_at_threshold, load_calibration  # noqa: E402
from app.engine.oracle.perceptual import perceptual_levels, similarity  # noqa: E402

GRID = [round(0.1 * i, 1) for i in range(11)]
BLUR = 1.0  # fixed, not fitted: any blur in 0–2 px fits these answers equally well (see the output)
BLURS = (0.0, 0.5, 1.0, 1.5, 2.0)  # for the sensitivity lines
TARGETS = "targets: |mean − answers' mean| ≤ 0.05, MAE ≤ 0.07, rank correlation ≥ 0.6, ≤ 10% at either end"

def similarity_table(images, ids, blur):
    x = to_float(images)
    return torch.stack([similarity(x, ids, level, blur) if level > 0 else torch.ones(len(x)) for level in GRID], 1)

def show(name, stats):
    print(f"{name:44s} mean {stats['mean_predicted']:.3f} (answers {stats['mean_answers']:.3f})  "
          f"MAE {stats['mae']:.3f}  rank corr {stats['rank_correlation']:.3f}  "
          f"exact {stats['exact']:.0%}  within 0.1 {stats['within_one_step']:.0%}")

def distribution(name, levels, seconds=None):
    counts = torch.bincount((levels * 10).round().long(), minlength=len(GRID)).tolist()
    at_low, at_high = float((levels == GRID[0]).double().mean()), float((levels == GRID[-1]).double().mean())
    took = f"  ({seconds:.0f} s, one thread)" if seconds is not None else ""
    print(f"{name:44s} mean {float(levels.mean()):.3f}  at {GRID[0]:g}: {at_low:.1%}  at {GRID[-1]:g}: {at_high:.1%}{took}")
    print(f"{'':44s} counts per level 0.0..1.0: {counts}")

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", help="calibration CSV (default resources/human/calibration.csv)")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--fashion-mnist", default="/usr/share/datasets/fashion-mnist", help="full Fashion-MNIST folder ('' to skip)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    calibration = load_calibration(args.answers)
    answers = calibration.levels
    embedded = load_dataset("embedded")
    images = embedded.train_x[calibration.embedded_ids]
    tables = {blur: similarity_table(images, calibration.embedded_ids, blur) for blur in BLURS}

    print(f"{len(answers)} hand-given answers; {TARGETS}\n")
    predicted, chosen = cross_validate({BLUR: tables[BLUR]}, answers, GRID, folds=args.folds)
    show(f"perceptual, τ {args.folds}-fold cross-validated", agreement(predicted, answers))
    print(f"{'':44s} per-fold τ: " + ", ".join(f"{t:.3f}" for _, t in chosen))
    both, chosen = cross_validate(tables, answers, GRID, folds=args.folds)
    show("  … blur fitted per fold too (2 parameters)", agreement(both, answers))
    show("constant 0.3 (baseline)", agreement(torch.full_like(answers, 0.3), answers))
    blur, tau = fit({BLUR: tables[BLUR]}, answers, GRID)
    print(f"\nfitted on all {len(answers)} answers: oracle_blur = {blur:g} (fixed), oracle_tau = {tau:.4f}")
    for other in BLURS:  # how much the blur matters (scored on the answers it was fitted on: optimistic)
        b_tau = fit({other: tables[other]}, answers, GRID)[1]

        show(f"  blur {other:g} alone, τ {b_tau:.3f} (in-sample)", agreement(levels_at_threshold(tables[other], GRID, b_tau), answers))

    print()
    started = time.perf_counter()
    levels = perceptual_levels(embedded.train_x, torch.arange(len(embedded.train_x)), GRID, tau, blur)
    distribution(f"embedded training set ({len(levels):,})", levels, time.perf_counter() - started)

    if args.fashion_mnist and Path(args.fashion_mnist).is_dir():
        full = load_dataset("fashion-mnist", args.fashion_mnist)
        ids = calibration.fashion_mnist_ids
        assert torch.equal(full.train_x[ids], images), "the calibration ids do not match the full Fashion-MNIST"
        full_table = similarity_table(full.train_x[ids], ids, blur)

        show("full Fashion-MNIST ids (fitted τ, blur)", agreement(levels_at_threshold(full_table, GRID, tau), answers))
        predicted_fm, _ = cross_validate({blur: full_table}, answers, GRID, folds=args.folds)
        show(f"full Fashion-MNIST ids, {args.folds}-fold cross-validated", agreement(predicted_fm, answers))
        started = time.perf_counter()
        full_levels = perceptual_levels(full.train_x, torch.arange(len(full.train_x)), GRID, tau, blur)
        distribution(f"full Fashion-MNIST training set ({len(full_levels):,})", full_levels, time.perf_counter() - started)
        out = os.environ.get("AQPL_CALIBRATION_LEVELS")
        if out:
            torch.save({"levels": full_levels, "grid": GRID, "tau": tau, "blur": blur}, out)

if __name__ == "__main__":
    main()
