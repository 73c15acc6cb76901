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


def export_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path) -> Path:
    """Save `model` as one self-contained ONNX file (torch.onnx's dynamo exporter, dynamic
    batch dimension). Raises whatever the exporter raises: callers that treat ONNX as optional
    turn that into a warning."""
    model = model.eval().cpu()
    example = example.cpu()
    if len(example) < 2:
        example = example.expand(2, *example.shape[1:]).contiguous()
    batch = torch.export.Dim("batch", min=1, max=65536)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model, (example,), str(path), dynamo=True, dynamic_shapes=({0: batch},),
        input_names=["images"], output_names=["logits"], external_data=False, verbose=False,
    )
    return path
