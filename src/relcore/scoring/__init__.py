"""Estimators over the domain: purchase models, CLV and relationship scores."""

from .summary import Period, RFMSummary, summarize

__all__ = ["Period", "RFMSummary", "summarize"]
