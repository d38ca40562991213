"""Warehouse-native e-commerce analytics on REES46 / Open CDP event logs."""

__version__ = "0.1.0"
