"""Export, with PyTorch and onnx (the ``train`` extra): a checkpoint becomes a bundle directory
(``bundle_writer``, written atomically in the format of ``lstmtc.infer.bundle``): the ONNX graph
(``onnx_export``, with int8 and fp16 variants), validated against PyTorch (``validate``), optionally
with a pruned vocabulary (``prune``); ``cli`` is lstmtc-export. The top layer: builds on
lstmtc.train (the checkpoint) and lstmtc.infer (the bundle format, the onnxruntime session)."""

from .bundle_writer import ExportError, ExportResult, export_bundle
from .onnx_export import export_onnx
from .validate import ExportValidationError, validate_export

__all__ = ["ExportError", "ExportResult", "export_bundle", "export_onnx", "ExportValidationError", "validate_export"]
