"""The sandbox Bot API server."""

from sandbox.server.app import SandboxServer, build_app, free_port
from sandbox.server.limits import FloodLimits
from sandbox.server.models import SandboxConfig
from sandbox.server.state import SandboxState

__all__ = [
    "FloodLimits",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "build_app",
    "free_port",
]
