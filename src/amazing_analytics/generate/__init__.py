"""Synthetic REES46-shaped event logs with known ground truth (the demo data)."""

from amazing_analytics.generate.events import GenerateSummary, generate_events

__all__ = ["GenerateSummary", "generate_events"]
