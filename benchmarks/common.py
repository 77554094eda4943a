"""Helpers shared by the benchmark scripts: machine description, table printing, JSON output."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

OUT = Path(__file__).parent / "out"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ag_news"


# The SIMD extensions that decide which kernels onnxruntime (MLAS) and torch pick: the same
# benchmark moved 2.2x between two machines that both call themselves "AMD EPYC".
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "avx512_vp2intersect", "amx_tile")


def cpuinfo(path: str = "/proc/cpuinfo") -> dict:
    """The first processor's model name, family and model numbers and SIMD flags (Linux; {} elsewhere)."""
    info: dict = {}
    try:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's block is enough
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name":
                    info["cpu"] = value
                elif key in ("cpu family", "model") and value.isdigit():
                    info["cpu_family" if key == "cpu family" else "cpu_model"] = int(value)
                elif key == "flags":
                    flags = set(value.split())
                    info["simd"] = [f for f in SIMD_FLAGS if f in flags]
    except OSError:
        pass
    return info


def machine() -> dict:
    info = {"cpu": platform.processor() or "", **cpuinfo(), "cores": os.cpu_count(),
            "python": platform.python_version()}
    for mod in ("numpy", "onnxruntime", "torch", "onnx"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:
            info[mod] = None
    return info


def wide_console(min_width: int):
    """A rich console on stdout; piped or redirected, at least ``min_width`` columns wide, so a
    table is not squeezed to the 80 columns rich assumes without a terminal."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, min_width))


def print_table(title: str, columns: list[str], rows: list[list]) -> None:
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c, justify="right")
    for r in rows:
        t.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in r])
    wide_console(160).print(t)


def write_json(path: str | os.PathLike | None, name: str, data: dict) -> Path:
    p = Path(path) if path else OUT / f"{name}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"machine": machine(), **data}, indent=1) + "\n")
    return p
