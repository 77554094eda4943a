"""Which torch device a run trains on: --device resolved and checked before any data is read."""

from __future__ import annotations

import torch

from .prepare import TrainError

# What --device auto tries, in order, before the CPU.
AUTO_DEVICES = ("cuda", "mps", "xpu")


def resolve_device(name: str) -> torch.device:
    """Any device torch can allocate on (cpu, cuda, cuda:N, mps, xpu, ...), checked by allocating on it,
    so a missing or mistyped device is one TrainError before any data is read; "auto" = the first of
    AUTO_DEVICES that works, else the CPU."""
    if name == "auto":
        return next((torch.device(k) for k in AUTO_DEVICES if _allocates(torch.device(k))), torch.device("cpu"))
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise TrainError(f"--device {name}: not a device name; use cpu, cuda, cuda:N, mps, xpu or auto") from None
    if device.type == "meta":
        raise TrainError("--device meta holds no data to train on; use cpu, cuda, cuda:N, mps, xpu or auto")
    if (why := _why_not(device)) is not None:
        raise TrainError(f"--device {name}: not available here ({why}); use --device cpu or auto")
    return device


def _allocates(device: torch.device) -> bool:
    return _why_not(device) is None


def _why_not(device: torch.device) -> str | None:
    """None when a tensor can be made on ``device``, else torch's reason in one line."""
    try:
        torch.empty(1, device=device)
    except Exception as e:  # noqa: BLE001 -- torch raises RuntimeError, AssertionError or its own kinds
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return first.split(". ")[0][:160]
    return None
