"""Export a trained model as a `torch.export` program (.pt2): loadable with `torch.export.load`
alone, without this project's code (TorchScript is deprecated in this torch)."""

import io
from pathlib import Path

import torch

from app.engine.atomic import replace_atomically, write_bytes_atomically


def portable(model: torch.nn.Module) -> torch.nn.Module:
    """`model` itself, made portable in place: eval mode, on the CPU, with ordinary contiguous
    weights. The models train in channels-last memory (models/registry.py), which torch.export's
    writer warns about and a reader on another device should not have to know. Callers pass a
    copy of a live model (app/engine/project/exports.py takes one snapshot for all formats)."""
    return model.eval().cpu().to(memory_format=torch.contiguous_format)


def _traced_inputs(example: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The example batch on the CPU and a dynamic batch dimension for both exporters."""
    example = example.cpu()
    if len(example) < 2:  # torch.export specialises a batch of 1 to a constant
        example = example.expand(2, *example.shape[1:]).contiguous()
    return example, {0: torch.export.Dim("batch", min=1, max=65536)}


def export_program(model: torch.nn.Module, example: torch.Tensor, path: Path) -> Path:
    """Save `model` (made portable in place) with a dynamic batch dimension."""
    example, batch = _traced_inputs(example)
    program = torch.export.export(portable(model), (example,), dynamic_shapes=(batch,))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Serialised in memory, written by Python: torch's own file writer aborts the whole process
    # on a full disk or a path it cannot encode, instead of raising.
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return write_bytes_atomically(path, buffer.getvalue())


def export_onnx(model: torch.nn.Module, example: torch.Tensor, path: Path) -> Path:
    """Save `model` as one self-contained ONNX file (torch.onnx's dynamo exporter, dynamic
    batch dimension). Raises whatever the exporter raises: callers that treat ONNX as optional
    turn that into a warning."""
    model = portable(model)
    example, batch = _traced_inputs(example)
    path.parent.mkdir(parents=True, exist_ok=True)
    return replace_atomically(path, lambda tmp: torch.onnx.export(
        model, (example,), str(tmp), dynamo=True, dynamic_shapes=(batch,),
        input_names=["images"], output_names=["logits"], external_data=False, verbose=False,
    ))
