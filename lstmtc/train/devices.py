"""Which torch device a run trains on (--device resolved and checked before any data is read), and
reading results back from it without waiting for it after every step."""

from __future__ import annotations

import torch

from .config import PRECISIONS
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


# With a progress bar the running loss is read (a wait for the device) every this many steps.
PROGRESS_LOSS_EVERY = 20


def host_sum(values: list[torch.Tensor], weights: list[int] | None = None) -> float:
    """sum(v * w) of device scalars, brought to the host at once and added in float64 in order
    (what adding ``v.item() * w`` step by step gives, without waiting for the device each step)."""
    if not values:
        return 0.0
    host = torch.stack(values).detach().cpu().double().tolist()
    return sum(v * w for v, w in zip(host, weights)) if weights is not None else sum(host, 0.0)


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 matrix products in hardware (AVX512-BF16 or AMX on CPU)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def resolve_precision(name: str, device: torch.device) -> str:
    if name == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if name not in PRECISIONS:
        raise TrainError(f"precision must be one of {', '.join(PRECISIONS)}, not {name!r}")
    return name
