"""A local Telegram Bot API server for tests and demos (see sandbox.testing, sandbox.client)."""
