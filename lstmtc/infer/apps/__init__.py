"""The torch-free applications, built on the runtime, the reader, the scorer and the writers:
``classify`` (lstmtc-classify's line and table modes and ``--eval``; its command line is
``classify_cli``), ``explain`` (LIME over the ONNX model; ``explain_cli``), ``cluster`` (the Dask
engine, ``--engine dask``), and ``options``, the click options every command line shares. Command
lines parse options, reject conflicts and call one library function; none imports another."""
