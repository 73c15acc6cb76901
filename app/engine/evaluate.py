"""Evaluation: Clean, Gaussian (the suite's Gaussian row), All (the 15 corruptions), Conform
(each test image perturbed at its own conform level by the calibrated simulated expert: what
the model recognises of what a person still recognises) and the robustness curve (accuracy
against σ for every level of the grid, fixed noise seeds)."""

import torch

from app.engine import distributed
from app.engine.data.dataset import to_float
from app.engine.perturb import perturb_examples

# Noise for the curve is a function of the test example's index and this seed only:
# every method, epoch and run is measured on the same noisy images.
CURVE_SEED = 0x0C0FFEE
# Images per inference forward. Outputs do not depend on it (checked bitwise for the small CNN);
# speed does: 500 keeps the small CNN's largest activation (500 × 16 × 28 × 28 floats, 25 MB)
# under glibc's 32 MB mmap threshold, so its buffers are reused instead of being mapped and
# faulted in afresh on every forward: 1.6× the images per second of batches of 1000 here.
EVAL_BATCH = 500


@torch.no_grad()
def predict(model, images: torch.Tensor, device, level: float | torch.Tensor = 0.0, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Predicted classes for uint8 images, optionally perturbed at one level or at one level per
    image (seeded per example)."""
    was_training = model.training
    model.eval()
    out = []
    group = distributed.active()  # one rank of a distributed run: predict its chunk, gather the rest
    lo, hi = group.chunk(len(images)) if group is not None else (0, len(images))
    for start in range(lo, hi, batch_size):
        x = to_float(images[start : min(start + batch_size, hi)].to(device, non_blocking=True))
        batch_level = level[start : start + len(x)].to(device) if torch.is_tensor(level) else level
        if torch.is_tensor(batch_level) or batch_level > 0:
            ids = torch.arange(start, start + len(x), device=device)  # global indices: the same noise as one process
            x = perturb_examples(x, ids, batch_level, CURVE_SEED)
        out.append(model(x).argmax(1).cpu())
    model.train(was_training)
    predicted = torch.cat(out) if out else torch.empty(0, dtype=torch.long)
    return torch.cat(group.gather(predicted)) if group is not None else predicted


def accuracy(model, images, labels, device, level: float | torch.Tensor = 0.0) -> float:
    if len(labels) == 0:
        return float("nan")
    return float((predict(model, images, device, level) == labels).float().mean()) * 100.0


def robustness_curve(model, images, labels, device, grid: list[float]) -> list[float]:
    return [accuracy(model, images, labels, device, level) for level in grid]


def suite_scores(model, loaded_suite: dict, device) -> dict:
    """Gaussian, All and the per-corruption breakdown in %, from a loaded suite
    (app.engine.corruptions.load_suite), scored by the suite package's own evaluate_suite."""
    from app.engine.corruptions import evaluate_suite

    was_training = model.training
    model.eval()
    with torch.no_grad():
        scores = evaluate_suite(lambda images: model(to_float(images.to(device))), loaded_suite, batch_size=EVAL_BATCH)
    model.train(was_training)
    return {
        "gaussian": 100.0 * scores["gaussian"],
        "all": 100.0 * scores["all"],
        "per_corruption": {name: 100.0 * entry["mean"] for name, entry in scores["corruptions"].items()},
        "suite": loaded_suite["suite"],
        "suite_source": loaded_suite["source"],
    }
