"""The visual report of a run: `maskfuse report RUN` -> RUN/report/report.html + PNG files."""

from maskfuse.report.build import build_report

__all__ = ["build_report"]
