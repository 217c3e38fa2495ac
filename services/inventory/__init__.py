"""Inventory: stock per (product, warehouse), reservations, allocation and restocking."""
