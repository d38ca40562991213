"""Typed, tested ML functions; dbt Python models are thin wrappers over these."""
