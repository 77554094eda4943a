"""lstmtc: train LSTM text classifiers in PyTorch, ship them as ONNX, classify without torch."""

__version__ = "0.1.0"
