"""The sandbox's web chat page: a Telegram-like client for the simulated users, in the browser."""

from sandbox.web.routes import PAGE_KEY, PageSettings, add_page_routes, forward

__all__ = ["PAGE_KEY", "PageSettings", "add_page_routes", "forward"]
