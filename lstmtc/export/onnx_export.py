"""PyTorch checkpoint -> ONNX graph with native LSTM ops and dynamic batch/sequence axes."""

from __future__ import annotations

import contextlib
import io
import os
import warnings

import torch
from torch import nn

from .exact_sums import exact_sums
from .table_lookups import fuse_table_lookups

OPSET = 17
INPUT = "input_ids"
LENGTHS = "lengths"
OUTPUT = "logits"
# The int32 copy of ``lengths`` that every LSTM node reads as its sequence_lens input.
SEQUENCE_LENS = "sequence_lens_int32"


class _Unpacked(nn.Module):
    """A length-aware model written without packed sequences, for the exporter: torch.onnx does not
    export pack_padded_sequence faithfully (pytorch issues 41774, 48460, 28423). Each nn.LSTM runs
    on the padded batch here -- in PyTorch that would let the backward direction read the padding
    -- and ``add_sequence_lens`` then gives every exported LSTM node the rows' lengths, with which
    onnxruntime stops each row at its own length and reverses it within that length: the packed
    model's arithmetic. ``validate_export`` proves it against the packed PyTorch model."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.embedding(input_ids)  # (batch, seq, embed_dim)
        for lstm in m.lstms:
            x, _ = lstm(x)  # (batch, seq, hidden * dirs); padded steps are fixed by sequence_lens
        steps = torch.arange(input_ids.shape[1], device=input_ids.device)
        real = (steps.unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)  # (batch, seq, 1)
        return m._head(x, real, lengths, input_ids)


def add_sequence_lens(graph_model) -> int:
    """Wire the graph input ``lengths`` (int64) into every LSTM node's sequence_lens (input 4, int32);
    returns the number of LSTM nodes."""
    from onnx import TensorProto, helper

    g = graph_model.graph
    lstms = [n for n in g.node if n.op_type == "LSTM"]
    for node in lstms:
        while len(node.input) < 5:
            node.input.append("")
        node.input[4] = SEQUENCE_LENS
    cast = helper.make_node("Cast", [LENGTHS], [SEQUENCE_LENS], to=TensorProto.INT32, name="lengths_to_int32")
    nodes = list(g.node)
    del g.node[:]
    g.node.extend([cast] + nodes)
    return len(lstms)


def export_onnx(model: nn.Module, path: str | os.PathLike, seq_len: int = 16, opset: int = OPSET) -> None:
    """Write ``model`` as ONNX and check it with onnx.checker (full_check).

    The legacy TorchScript exporter (``dynamo=False``) is used: it maps ``nn.LSTM`` (multi-layer,
    bidirectional) onto the native ONNX ``LSTM`` op in about a second, and its output passes
    validation for all five presets; the dynamo exporter takes tens of seconds and has public
    reports of problems with bidirectional LSTMs.

    A length-aware model (``model.config.lengths``) is exported through ``_Unpacked`` with a second
    input ``lengths`` (int64, one per row) that ``add_sequence_lens`` hands to every LSTM node.
    Tables read with the same indices become one lookup (``table_lookups.fuse_table_lookups``), and
    a length-aware model's sums over the steps are taken in float64 (``exact_sums.exact_sums``), so
    they do not depend on the padded width.
    """
    import onnx

    model = model.eval()
    dummy = torch.full((2, seq_len), 2, dtype=torch.long)
    packed = bool(getattr(model.config, "lengths", False))
    args, names, axes = (dummy,), [INPUT], {INPUT: {0: "batch", 1: "sequence"}, OUTPUT: {0: "batch"}}
    if packed:
        model = _Unpacked(model).eval()
        args, names = (dummy, torch.tensor([seq_len, max(1, seq_len // 2)])), [INPUT, LENGTHS]
        axes[LENGTHS] = {0: "batch"}
    # The legacy exporter warns that it is deprecated and that LSTM batch_first output is
    # approximated; neither applies to this graph and both would bury the validation table.
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, args, str(path), input_names=names, output_names=[OUTPUT], dynamic_axes=axes,
            opset_version=opset, dynamo=False, do_constant_folding=True,
        )
    graph = onnx.load(str(path))
    if packed and not add_sequence_lens(graph):
        raise RuntimeError("the exported graph has no LSTM node to give the lengths to")
    fused = fuse_table_lookups(graph)
    summed = exact_sums(graph) if packed else 0  # a fixed-width model's widths never change
    if packed or fused or summed:
        onnx.save(graph, str(path))
    onnx.checker.check_model(graph, full_check=True)


def quantize_int8(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Dynamic int8 quantization: LSTM -> DynamicQuantizeLSTM, the embedding Gather and the head."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic logs a pre-processing hint on the root logger that does not apply to
    # dynamic quantization of this graph.
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    quantize_dynamic(str(src), str(dst), op_types_to_quantize=["LSTM", "Gather", "MatMul", "Gemm"],
                     weight_type=QuantType.QInt8)


def convert_fp16(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Store weights as float16, keeping float32 inputs/outputs (onnxconverter-common is not
    needed: the graph casts each fp16 initializer back to fp32 where it is used)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(str(src))
    g = m.graph
    new_inits, casts = [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size > 1:
            half = init.name + "__fp16"
            new_inits.append(numpy_helper.from_array(arr.astype(np.float16), half))
            casts.append(helper.make_node("Cast", [half], [init.name], to=onnx.TensorProto.FLOAT,
                                          name=init.name + "__cast"))
        else:
            new_inits.append(init)
    del g.initializer[:]
    g.initializer.extend(new_inits)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(dst))
