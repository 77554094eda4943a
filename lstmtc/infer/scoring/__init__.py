"""From documents to predictions and from predictions to figures, torch-free: the one scorer
(``scorer``: batches -> probabilities, blanks kept aligned), the metrics (``metrics``: numpy) and
the one evaluation report of ``lstmtc-classify --eval`` and ``lstmtc-evaluate`` (``report``)."""

from .scorer import Scored, Scorer, batched

__all__ = ["Scored", "Scorer", "batched"]
