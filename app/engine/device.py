"""Pick the compute device: `auto` tries CUDA, then Apple's MPS, then the CPU."""

import torch


def pick_device(requested: str) -> tuple[torch.device, str | None]:
    """Returns (device, warning): the warning is set when a GPU was asked for but is not usable,
    so that the user always knows training fell back to the CPU."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu"), None
    if requested == "cuda" and not cuda:
        return torch.device("cpu"), "CUDA was requested but no usable CUDA GPU was found: training runs on the CPU"
    if requested == "mps" and not mps:
        return torch.device("cpu"), "MPS was requested but is not available: training runs on the CPU"
    return torch.device(requested), None


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
