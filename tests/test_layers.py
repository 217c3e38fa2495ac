"""The architecture's rule, checked: nothing outside bot/runtimes/ imports a Telegram library
(the conversation, the services, the wiring, the web app and the outbox sender speak the
project's own events, replies and delivery errors)."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FRAMEWORKS = {"aiogram", "telegram"}


def imported_roots(path: Path) -> set[str]:
    """The top-level packages a module imports (absolute imports only)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_runtimes_import_a_telegram_library() -> None:
    files = [*REPO.glob("bot/**/*.py"), *REPO.glob("handlers/**/*.py"),
             *REPO.glob("services/**/*.py"), *REPO.glob("models/**/*.py"),
             REPO / "scheduler.py"]
    runtimes = REPO / "bot" / "runtimes"
    leaks = {str(f.relative_to(REPO)): imported_roots(f) & FRAMEWORKS for f in files
             if runtimes not in f.parents and imported_roots(f) & FRAMEWORKS}
    assert leaks == {}
    assert imported_roots(runtimes / "ptb.py") >= {"telegram"}  # the check does see imports


def test_each_runtime_imports_its_own_framework_only() -> None:
    """A bot on one framework never loads the other (each takes seconds to import)."""
    runtimes = REPO / "bot" / "runtimes"
    for path in runtimes.glob("*.py"):
        roots = imported_roots(path)
        if path.name.startswith("aiogram"):
            assert "telegram" not in roots, path.name
        elif path.name.startswith("ptb"):
            assert "aiogram" not in roots, path.name
        else:  # the seam and what both share
            assert not roots & FRAMEWORKS, path.name
