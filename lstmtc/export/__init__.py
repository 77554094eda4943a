"""Export: checkpoint -> ONNX bundle, validated against PyTorch (needs the ``train`` extra)."""

from .bundle_writer import ExportError, ExportResult, export_bundle
from .onnx_export import export_onnx
from .validate import ExportValidationError, validate_export

__all__ = ["ExportError", "ExportResult", "export_bundle", "export_onnx", "ExportValidationError", "validate_export"]
