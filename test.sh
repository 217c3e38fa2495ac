#!/usr/bin/env bash
# Run the test suite: ./test.sh [pytest arguments]   (default: -q -n 2 --dist loadgroup)
# Creates .venv and installs the package with its test extras the first time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# Reinstall only when pyproject.toml or the set of top-level packages changed (an editable
# install maps the packages it saw when it was made).
stamp=.venv/.shopbot-installed-test
wanted=$({ cat pyproject.toml; ls -d -- */__init__.py 2>/dev/null || true; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  echo "installing shopbot and its test dependencies into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
  echo "$wanted" > "$stamp"
fi

if [ "$#" -eq 0 ]; then
  # Two worker processes (pytest-xdist): the suite waits on sockets, sandboxes and child
  # processes much of the time, so two workers halve it even on two cores. The browser tests
  # share one group (one Chromium at a time).
  set -- -q -n 2 --dist loadgroup
fi
exec .venv/bin/python -m pytest "$@"
