"""Accuracy on a loaded suite: per set, per corruption, the "Gaussian" and "All" rows."""

import torch

from app.engine.corruptions.loading import CorruptedSet


def set_accuracy(model_fn, corrupted: CorruptedSet, batch_size: int = 500, keep: list | None = None) -> float:
    """Fraction correct; model_fn(uint8 (B, C, H, W)) returns logits (B, K) or labels (B,).
    `keep`: a list that receives (outputs, labels) of every batch (this process's part)."""
    from app.engine import distributed

    correct, n = 0, len(corrupted)
    group = distributed.active()  # one rank of a distributed run: count its chunk, sum over ranks
    lo, hi = group.chunk(n) if group is not None else (0, n)
    for start in range(lo, hi, batch_size):
        stop = min(start + batch_size, hi)
        images = corrupted.images[start:stop].contiguous()
        with torch.no_grad():
            out = model_fn(images)
        predicted = out.argmax(1) if out.ndim == 2 else out
        if keep is not None:
            keep.append((out.cpu(), corrupted.labels[start:stop]))
        correct += int((predicted.cpu() == corrupted.labels[start:stop]).sum())
    if group is not None:
        correct = sum(group.gather(correct))
    return correct / n if n else float("nan")


def summarize(gaussian: list[float], corruptions: dict[str, list[float]]) -> dict:
    """'gaussian' = mean over the Gaussian row; 'all' = mean over corruptions of their mean over severities."""
    means = {name: sum(accs) / len(accs) for name, accs in corruptions.items()}
    return {
        "gaussian": sum(gaussian) / len(gaussian) if gaussian else float("nan"),
        "gaussian_severities": list(gaussian),
        "all": sum(means.values()) / len(means) if means else float("nan"),
        "corruptions": {name: {"mean": means[name], "severities": list(accs)} for name, accs in corruptions.items()},
    }


def evaluate_suite(model_fn, loaded: dict, batch_size: int = 500, progress=None, keep_gaussian_outputs: bool = False) -> dict:
    """Accuracies (fractions in [0, 1]) on every set of `loaded` (from load_suite), summarised.
    keep_gaussian_outputs: also return the Gaussian row's model outputs and labels, concatenated
    over its severities, as 'gaussian_outputs' (for calibration)."""
    total = len(loaded["gaussian"]) + sum(len(v) for v in loaded["corruptions"].values())
    done = 0
    cache: dict[int, float] = {}  # imagenet-c's Gaussian row is its gaussian_noise corruption

    kept: list = []

    def accuracy(cs: CorruptedSet, keep: list | None = None) -> float:
        nonlocal done
        if id(cs) not in cache:
            cache[id(cs)] = set_accuracy(model_fn, cs, batch_size, keep)
        done += 1
        if progress is not None:
            progress(done, total, f"{cs.corruption} severity {cs.severity}")
        return cache[id(cs)]

    gaussian = [accuracy(cs, kept if keep_gaussian_outputs else None) for cs in loaded["gaussian"]]
    corruptions = {name: [accuracy(cs) for cs in sets] for name, sets in loaded["corruptions"].items()}
    summary = summarize(gaussian, corruptions)
    if keep_gaussian_outputs:
        outputs = torch.cat([o for o, _ in kept]) if kept else torch.empty(0, 0)
        labels = torch.cat([y for _, y in kept]) if kept else torch.empty(0, dtype=torch.long)
        from app.engine import distributed

        group = distributed.active()
        if group is not None:
            outputs, labels = torch.cat(group.gather(outputs)), torch.cat(group.gather(labels))
        summary["gaussian_outputs"] = (outputs, labels)
    return summary
