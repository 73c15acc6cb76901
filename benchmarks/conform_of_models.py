"""Conform accuracy of exported models (`--out DIR/models/*.pt2`), for runs made before the
Conform row existed: each test image perturbed at its own level by the calibrated simulated
expert (app/engine/evaluate.py), the same arithmetic as a run's final evaluation.

    python benchmarks/conform_of_models.py fashion-mnist runs/ub-gnt/models/*.pt2
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.data.registry import load_dataset  # noqa: E402
from app.engine.evaluate import accuracy  # noqa: E402
from app.engine.oracle import PerceptualOracle  # noqa: E402
from app.engine.settings import defaults_for  # noqa: E402


class Exported(torch.nn.Module):
    """An exported program (already in eval mode) behind the nn.Module calls `accuracy` makes."""

    def __init__(self, path: str):
        super().__init__()
        self.program = torch.export.load(path).module()

    def forward(self, x):
        return self.program(x)

    def train(self, mode: bool = True):
        return self  # exported programs support neither .train() nor .eval()


def main():
    torch.set_num_threads(1)
    data = load_dataset(sys.argv[1])
    settings = defaults_for(data.family)
    levels = PerceptualOracle(data, settings.grid, settings.oracle_tau, settings.oracle_blur).test_levels()
    for path in sys.argv[2:]:
        print(f"{path}: conform {accuracy(Exported(path), data.test_x, data.test_y, torch.device('cpu'), level=levels):.2f}", flush=True)


if __name__ == "__main__":
    main()
