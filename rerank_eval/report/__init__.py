"""Reports of a run folder: ``report.md`` and a self-contained ``report.html``."""

from rerank_eval.report.writer import write_reports

__all__ = ["write_reports"]
