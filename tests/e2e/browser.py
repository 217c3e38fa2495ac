"""A real headless browser for the page tests: Debian's chromium driven by Playwright.

No browser is downloaded: Playwright drives /usr/bin/chromium. When it is missing, the fixture
installs it with apt-get (with fonts for emoji and Chinese, so screenshots read right) if it
may: in CI (CI=true) or with SHOPBOT_INSTALL_BROWSER=1, as root. In CI a missing browser fails
the test; on a laptop without it the test is skipped with the reason.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("SHOPBOT_CHROMIUM", "/usr/bin/chromium"))
APT_PACKAGES = ("chromium", "fonts-noto-color-emoji", "fonts-wqy-microhei")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def in_ci() -> bool:
    """Running in continuous integration (where the browser test must run)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _apt_install() -> str:
    """apt-get install the browser and fonts; the output's last line on failure."""
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", *APT_PACKAGES]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:  # a fresh container has no package lists yet
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    return "" if result.returncode == 0 else (result.stderr.strip().splitlines() or ["?"])[-1]


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"the browser test must run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium executable for Playwright (installed first when allowed)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    may_install = in_ci() or os.environ.get("SHOPBOT_INSTALL_BROWSER") == "1"
    if not CHROMIUM.exists() and may_install:
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            _unavailable(f"{CHROMIUM} is missing and apt-get cannot run here as root")
        problem = _apt_install()
        if problem:
            _unavailable(f"apt-get install {' '.join(APT_PACKAGES)} failed: {problem}")
    if not CHROMIUM.exists():
        _unavailable(f"no browser at {CHROMIUM}: apt-get install chromium "
                     "(or set SHOPBOT_INSTALL_BROWSER=1 to let the test install it)")
    return str(CHROMIUM)
