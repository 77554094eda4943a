"""The Dask engine: ``lstmtc-classify --engine dask`` and its Python API, scale-out batch scoring of
CSV/TSV datasets by the same reader, scorer and writers as single-machine mode.

Needs the ``dask`` extra (``pip install 'lstmtc[dask]'``: dask[dataframe] and distributed) on the
client and on every worker; dask is imported only when one of these functions runs, so importing
this package works without it. Torch is never imported, on the client or on workers.

Python API
    ``score(ddf, bundle, text_column=..., k=1, prob=False)`` -> a lazy dask DataFrame: every input
    column, then ``label`` (``label_1``..``label_k`` for k > 1), then with ``prob`` one float32
    ``prob_<class>`` column per class. A missing or blank text gets an empty label and NaN
    probabilities. Partitions are scored with ``map_partitions``; row order within a partition is kept.

    ``score_files(pattern, out, ...)`` is what the CLI runs: read a CSV/TSV dataset (a path, a glob or
    an fsspec URL), score it, and write one file per input file into the directory ``out``.

The modules
    ``models``: how the bundle reaches the workers (shipped with the graph, or opened by each worker
    at a shared path or URL) and the per-process cache of loaded classifiers. ``tables``: a dataset
    of files resolved on the client, one partition per file read on the workers by the one reader
    (``lstmtc.infer.data``: strict quoting, rectangular, every file repeating the first file's
    header). ``scoring``: ``score``, the one scorer mapped over partitions in the same batches as
    single-machine mode, so the same onnxruntime calls give the same probabilities. ``job``:
    ``score_files``, the cluster, and the output directory (part files written by the same table
    writer as single-machine mode, published atomically with ``_SUCCESS``).

Failure behaviour
    A worker that dies mid-run is handled by Dask: its tasks are recomputed on the remaining workers,
    and since every part is written whole under its final name, the output is complete and identical
    to a run without failures. A bad input row is a DataError naming file:line that stops the run
    and leaves no output directory, as in single-machine mode.
"""

from ...data.writers import prediction_columns as output_columns
from ...errors import BundleError, DataError
from .job import check_output_dir, cluster_client, score_files
from .models import BundleRef, bundle_ref, worker_stats
from .scoring import score
from .tables import CsvTable, expand, read_csv, read_table

__all__ = ["BundleError", "DataError", "output_columns", "check_output_dir", "cluster_client", "score_files",
           "BundleRef", "bundle_ref", "worker_stats", "score", "CsvTable", "expand", "read_csv", "read_table"]
