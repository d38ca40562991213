"""One router per resource: sessions, users, products, health (healthz, readyz, metrics)."""
