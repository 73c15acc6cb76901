"""Evaluation: Clean, Gaussian (the suite's Gaussian row), All (the 15 corruptions), Conform
(each test image perturbed at its own conform level by the calibrated simulated expert: what
the model recognises of what a person still recognises) and the robustness curve (accuracy
against σ for every level of the grid, fixed noise seeds)."""

import torch

from app.engine import distributed
from app.engine.augment import IMITATED
from app.engine.calibration import calibration
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
def outputs(model, images: torch.Tensor, device, level: float | torch.Tensor = 0.0, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Softmax outputs (N, K) for uint8 images, optionally perturbed at one level or at one level
    per image (seeded per example)."""
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
        out.append(torch.softmax(model(x).float(), dim=1).cpu())
    model.train(was_training)
    probs = torch.cat(out) if out else torch.empty(0, 0)
    return torch.cat(group.gather(probs)) if group is not None else probs


def predict(model, images: torch.Tensor, device, level: float | torch.Tensor = 0.0, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Predicted classes for uint8 images (see `outputs`)."""
    probs = outputs(model, images, device, level, batch_size)
    return probs.argmax(1) if len(probs) else torch.empty(0, dtype=torch.long)


def accuracy(model, images, labels, device, level: float | torch.Tensor = 0.0) -> float:
    if len(labels) == 0:
        return float("nan")
    return float((predict(model, images, device, level) == labels).float().mean()) * 100.0


def scored(model, images, labels, device, level: float | torch.Tensor = 0.0) -> tuple[float, dict]:
    """Accuracy (%) and calibration (app/engine/calibration.py) from one pass."""
    probs = outputs(model, images, device, level)
    if len(labels) == 0:
        return float("nan"), calibration(probs, labels)
    return float((probs.argmax(1) == labels).float().mean()) * 100.0, calibration(probs, labels)


def robustness_curve(model, images, labels, device, grid: list[float]) -> list[float]:
    return [accuracy(model, images, labels, device, level) for level in grid]


def suite_scores(model, loaded_suite: dict, device) -> dict:
    """Gaussian, All and the per-corruption breakdown in %, from a loaded suite
    (app.engine.corruptions.load_suite), scored by the suite package's own evaluate_suite; the
    Gaussian row's calibration from the same pass."""
    from app.engine.corruptions import evaluate_suite

    was_training = model.training
    model.eval()
    with torch.no_grad():
        scores = evaluate_suite(lambda images: torch.softmax(model(to_float(images.to(device))).float(), dim=1),
                                loaded_suite, batch_size=EVAL_BATCH, keep_gaussian_outputs=True)
    model.train(was_training)
    per_corruption = {name: 100.0 * entry["mean"] for name, entry in scores["corruptions"].items()}
    imitated = [name for name in per_corruption if name in IMITATED]
    rest = [per_corruption[name] for name in per_corruption if name not in IMITATED]
    probs, labels = scores["gaussian_outputs"]
    return {
        "gaussian": 100.0 * scores["gaussian"],
        "all": 100.0 * scores["all"],
        # All without the corruptions an augmentation imitates (app/engine/augment.py): the same
        # subset for every run, so an augmented model is compared on what it never trained on
        "all_unimitated": sum(rest) / len(rest) if rest else None,
        "imitated": imitated,
        "per_corruption": per_corruption,
        "gaussian_calibration": calibration(probs, labels),
        "suite": loaded_suite["suite"],
        "suite_source": loaded_suite["source"],
    }
