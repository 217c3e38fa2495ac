"""Bot API method handlers; importing this package registers all of them in METHODS."""

from sandbox.server import payments as _payments  # noqa: F401  (registers invoice methods)
from sandbox.server.methods import chats, media, messages, topics, updates  # noqa: F401
from sandbox.server.methods.common import METHODS

__all__ = ["METHODS"]
