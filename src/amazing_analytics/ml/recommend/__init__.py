"""Recommendations: data preparation, baselines and the LightFM hybrid, exact chunked top-k,
temporal evaluation, and what the warehouse serves (see build.py for the dbt entry points)."""
