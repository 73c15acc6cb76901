"""Calibration of a classifier's probabilities: does the model know when it cannot see?

Three numbers per test set (METHOD.md, "Calibration"), from softmax outputs and labels:

* `nll`: mean negative log-likelihood of the true class (lower is better);
* `ece`: expected calibration error over 15 equal-width confidence bins, in % (the gap between
  confidence and accuracy, weighted by the share of examples in each bin);
* `acc90`: accuracy (%) on the 90% most confident examples (the 10% least confident abstain).

Pure functions of tensors; app/engine/evaluate.py collects the outputs.
"""

import math

import torch

ECE_BINS = 15
COVERAGE = 0.9
METRICS = ("nll", "ece", "acc90")


def calibration(probs: torch.Tensor, labels: torch.Tensor, bins: int = ECE_BINS, coverage: float = COVERAGE) -> dict:
    """{'nll', 'ece', 'acc90'} of softmax outputs (N, K) against labels (N,); NaN for N = 0."""
    n = len(labels)
    if n == 0:
        return {name: math.nan for name in METRICS}
    probs = probs.float()
    true = probs.gather(1, labels.view(-1, 1)).squeeze(1)
    nll = float(-true.clamp_min(1e-12).log().mean())
    confidence, predicted = probs.max(1)
    correct = (predicted == labels).float()
    # bin b holds confidences in (b/bins, (b+1)/bins]; a confidence of exactly 0 joins bin 0
    index = (confidence * bins).ceil().long().clamp(1, bins) - 1
    gap = torch.bincount(index, weights=correct - confidence, minlength=bins).abs()
    ece = float(gap.sum() / n) * 100.0
    kept = max(1, int(round(coverage * n)))
    order = torch.argsort(confidence, descending=True, stable=True)[:kept]
    acc90 = float(correct[order].mean()) * 100.0
    return {"nll": nll, "ece": ece, "acc90": acc90}
