"""Level propagation (beyond the paper; `--propagate`, off by default): after each query round,
predict a conform level for every example the expert has not answered, from the answers so far.

Why: with a 5% budget, 95% of the training set never hears from the expert, yet hand-given
answers are far from random (dark and thin items low, large bright ones high), so an answer says
something about the examples that look like it.

* `class`: the median answer of the example's class (the median of all answers for a class
  nobody has answered yet). Answers are grid levels, so the median stays on the grid.
* `neighbours`: the mean answer of the k = 10 answered examples nearest in the learner's own
  penultimate-layer features of the clean images (cosine similarity), snapped to the grid.
  The features come from the same loop and batches as pool scoring (one more forward per pool
  example); they follow the learner as it trains, so the predictions improve with it.

Pure functions of tensors; the trainer applies the predictions through the level policy
(AQPL-GNT trains at the predicted level; AQPL-CAT uses it as the ceiling, as the issue that asked
for propagation specified, or with `propagate_as = "level"` as the level itself, like an answer).
"""

import torch
from torch import nn

from app.registry import Registry

# What AQPL-CAT makes of a prediction: the example's ceiling, below which CAT keeps adapting (the
# default), or its level (and ceiling), as if the expert had answered it. AQPL-GNT always trains at it.
PROPAGATE_AS = ("ceiling", "level")
NEIGHBOURS = 10  # enough answers to average one annotator's one-step slips away, few enough to stay local
CHUNK = 4096


def snap(levels: torch.Tensor, grid: list[float]) -> torch.Tensor:
    grid_t = torch.tensor(grid, dtype=torch.float32)
    return grid_t[(levels.float().unsqueeze(1) - grid_t).abs().argmin(1)]


def by_class(labels: torch.Tensor, answered: torch.Tensor, answers: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N,) the median answer of each example's class (lower median: an actual answer)."""
    overall = answers.float().median()
    per_class = torch.full((num_classes,), float(overall))
    answered_labels = labels[answered]
    for k in range(num_classes):
        mine = answers[answered_labels == k]
        if len(mine):
            per_class[k] = mine.float().median()
    return per_class[labels]


@torch.no_grad()
def by_neighbours(features: torch.Tensor, answered: torch.Tensor, answers: torch.Tensor, grid: list[float],
                  k: int = NEIGHBOURS) -> torch.Tensor:
    """(N,) the mean answer of each example's k nearest answered examples, on the grid."""
    features = nn.functional.normalize(features.float(), dim=1)
    keys = features[answered]
    k = min(k, len(answered))
    predicted = torch.empty(len(features))
    for start in range(0, len(features), CHUNK):
        similarity = features[start : start + CHUNK] @ keys.T
        nearest = similarity.topk(k, dim=1).indices
        predicted[start : start + CHUNK] = answers.float()[nearest].mean(1)
    return snap(predicted, grid)


def _by_class(*, labels, answered, answers, num_classes, **_):
    return by_class(labels, answered, answers, num_classes)


def _by_neighbours(*, features, answered, answers, grid, **_):
    return by_neighbours(features, answered, answers, grid)


# The registry of propagations: name → predictor(labels=, features=, answered=, answers=,
# num_classes=, grid=) → (N,) levels (None for "none"); `needs_features`: the learner's
# penultimate-layer features of every example (captured in pool scoring).
PROPAGATIONS = Registry("propagate")
PROPAGATIONS.register("none", None, label="No: unanswered examples keep the method's level (the paper)",
                      needs_features=False)
PROPAGATIONS.register("class", _by_class, label="To the whole class: the median answer of its class", needs_features=False)
PROPAGATIONS.register("neighbours", _by_neighbours, needs_features=True,
                      label=f"To similar images: each unanswered example gets its {NEIGHBOURS} nearest answers' mean")


def predict(method: str, *, labels: torch.Tensor, features: torch.Tensor | None, answered: torch.Tensor,
            answers: torch.Tensor, num_classes: int, grid: list[float]) -> torch.Tensor | None:
    """Predicted levels for every example (None when there is nothing to propagate)."""
    predictor = PROPAGATIONS[method]  # validation rejects unknown names first
    if predictor is None or len(answered) == 0:
        return None
    return predictor(labels=labels, features=features, answered=answered, answers=answers, num_classes=num_classes,
                     grid=grid)


class PenultimateFeatures:
    """Captures the input of the model's last linear layer (its penultimate-layer features)
    during forward passes made inside the `with` block; works for every model in models/."""

    def __init__(self, model: nn.Module):
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        self.layer = linears[-1]
        self.batches: list[torch.Tensor] = []

    def __enter__(self):
        self.handle = self.layer.register_forward_pre_hook(lambda module, args: self.batches.append(args[0].detach().cpu()))
        return self

    def __exit__(self, *exc):
        self.handle.remove()
