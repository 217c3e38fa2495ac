#!/usr/bin/env bash
# Start the bot: ./run.sh [shopbot run options, e.g. --port 8081]
# Creates .venv and installs the package the first time; settings in config.yaml and the
# environment (BOT_TOKEN, SHOPBOT_...; see README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Reinstall only when pyproject.toml or the set of top-level packages changed.
stamp=.venv/.shopbot-installed-run
wanted=$({ cat pyproject.toml; ls -d -- */__init__.py 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  echo "installing shopbot into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
  echo "$wanted" > "$stamp"
fi

exec .venv/bin/shopbot run "$@"
