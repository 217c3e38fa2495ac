"""The code is ruff and mypy clean, as configured in pyproject.toml: ./test.sh enforces it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m ARGS` at the repository's root with the test run's interpreter."""
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO,
        capture_output=True, text=True, timeout=600, check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("ruff", "check", "--no-cache", "."), id="ruff"),
        pytest.param(("mypy",), id="mypy"),
    ],
)
def test_lint_is_clean(command: tuple[str, ...]) -> None:
    """Each finding fails the run with the tool's own report."""
    result = run_tool(*command)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"
