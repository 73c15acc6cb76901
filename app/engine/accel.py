"""Speed on a GPU without changing results on the CPU: bf16 autocast for training steps and
channels-last memory for the ResNet. Both are off on the CPU unless asked for (tests do, to
check the code path); the dataset already lives on the training device (trainer.py).

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


def prepare_model(model: torch.nn.Module, device: torch.device, force_channels_last: bool = False) -> torch.nn.Module:
    """Channels-last weights for the ResNet on CUDA (cuDNN's fast layout for convolutions;
    the convolutions then produce channels-last activations from ordinary NCHW input)."""
    from models.resnet import CifarResNet18

    if isinstance(model, CifarResNet18) and (device.type == "cuda" or force_channels_last):
        model = model.to(memory_format=torch.channels_last)
    return model
