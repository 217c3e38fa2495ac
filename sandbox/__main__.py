"""`python -m sandbox --port 8081`: run the Bot API sandbox on its own."""

from __future__ import annotations

import argparse
import asyncio
import logging

from sandbox.server import FloodLimits, SandboxConfig, SandboxServer


async def _serve(args: argparse.Namespace) -> None:
    limits = FloodLimits(enabled=not args.no_flood_limits)
    server = SandboxServer(args.host, args.port, config=SandboxConfig(), limits=limits)
    await server.start()
    token = args.token or server.state.new_token()
    server.state.bot_for_token(token)
    server.state.default_bot_id = int(token.split(":")[0])
    print(
        f"Telegram Bot API sandbox on {server.url} (any <digits>:<secret> token is a bot; "
        f"try token {token}; control API at {server.url}/sandbox/info)",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None, help="register this bot token as the default")
    parser.add_argument("--no-flood-limits", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
