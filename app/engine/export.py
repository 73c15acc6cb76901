"""Export a trained model as a `torch.export` program (.pt2): loadable with `torch.export.load`
alone, without this project's code (TorchScript is deprecated in this torch)."""

from pathlib import Path

import torch


def export_program(model: torch.nn.Module, example: torch.Tensor, path: Path) -> Path:
    """Save `model` (in eval mode, on the CPU) with a dynamic batch dimension."""
    model = model.eval().cpu()
    example = example.cpu()
    if len(example) < 2:  # torch.export specialises a batch of 1 to a constant
        example = example.expand(2, *example.shape[1:]).contiguous()
    batch = torch.export.Dim("batch", min=1, max=65536)
    program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, path)
    return path
