"""Speed on a GPU without changing results on the CPU: bf16 autocast for training steps, off on
the CPU unless asked for (tests do, to check the code path); the dataset already lives on the
training device (trainer.py). Channels-last memory, which pays on both, is every model's layout
(models/registry.py).

Not measured on a GPU in this project (no GPU was available): see docs/scale-out.md.
"""

from contextlib import nullcontext

import torch


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """bf16 when asked for, or `auto` on a CUDA device that supports it; None: plain fp32."""
    if precision == "bf16":
        return torch.bfloat16
    if precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
