"""PyTorch checkpoint -> ONNX graph with native LSTM ops and dynamic batch/sequence axes."""

from __future__ import annotations

import contextlib
import io
import os
import warnings

import torch
from torch import nn

OPSET = 17
INPUT = "input_ids"
OUTPUT = "logits"


def export_onnx(model: nn.Module, path: str | os.PathLike, seq_len: int = 16, opset: int = OPSET) -> None:
    """Write ``model`` as ONNX and check it with onnx.checker (full_check).

    The legacy TorchScript exporter (``dynamo=False``) is used: it maps ``nn.LSTM`` (multi-layer,
    bidirectional) onto the native ONNX ``LSTM`` op in about a second, and its output passes
    validation for all five presets; the dynamo exporter takes tens of seconds and has public
    reports of problems with bidirectional LSTMs.
    """
    import onnx

    model = model.eval()
    dummy = torch.full((2, seq_len), 2, dtype=torch.long)
    # The legacy exporter warns that it is deprecated and that LSTM batch_first output is
    # approximated; neither applies to this graph and both would bury the validation table.
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (dummy,), str(path), input_names=[INPUT], output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "batch", 1: "sequence"}, OUTPUT: {0: "batch"}},
            opset_version=opset, dynamo=False, do_constant_folding=True,
        )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


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
