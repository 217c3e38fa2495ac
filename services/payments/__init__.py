"""Payments: providers, applying verified events exactly once, refunds within what was captured."""
