"""/catalog: the merchant sends a CSV file that creates or updates products and stock."""
from __future__ import annotations

from handlers import callbacks
from handlers.admin.commands.common import esc
from handlers.admin.prompts import ask, ask_again
from handlers.callbacks import Callback
from handlers.turn import Turn
from services.catalog_import import ImportReport, RowProblem

STEP = "admin.catalog"
MAX_MB = 1

callbacks.register("acat", "w")  # cancel


async def start(turn: Turn) -> None:
    """/catalog: ask for the file (sent as a reply, so a bot in privacy mode gets it)."""
    turn.go(STEP)
    ask(turn, turn.t("admin_commands.catalog_ask", mb=MAX_MB), turn.t("admin.hint.csv"))


async def received(turn: Turn) -> None:
    """Anything sent while a CSV is awaited; only a readable document is imported."""
    event = turn.event
    if event.kind != "document":
        return ask_again(turn, turn.t("admin_commands.catalog_need_file"))
    if event.file_bytes is None:  # too big, or the download failed
        return ask_again(turn, turn.t("admin_commands.catalog_unreadable", mb=MAX_MB))
    report = await turn.services.catalog_import.import_csv(event.file_bytes)
    if report.applied:
        turn.reset()
        return turn.send(applied_text(turn, report))
    ask_again(turn, refused_text(turn, report))  # still waiting for a fixed file


async def cancel(turn: Turn, pressed: Callback) -> None:
    """acat:cancel (on questions sent before /cancel replaced it): stop waiting for a file."""
    if turn.state.name != STEP:
        return turn.answer(turn.t("error.stale_button"), alert=True)
    turn.answer()
    turn.reset()
    turn.show(turn.t("admin_commands.catalog_cancelled"))


def applied_text(turn: Turn, report: ImportReport) -> str:
    """What the file changed."""
    return turn.t("admin_commands.catalog_applied", rows=report.rows,
                  products_created=report.products_created,
                  products_updated=report.products_updated,
                  categories_created=report.categories_created,
                  categories_updated=report.categories_updated, stock=report.stock_rows)


def problem_text(turn: Turn, problem: RowProblem) -> str:
    """"Line 14, price: not a price like 12.50"."""
    reason = turn.t(f"admin_commands.csv.{problem.reason}", detail=problem.detail or "")
    if problem.column:
        return turn.t("admin_commands.csv_problem", line=problem.line, column=esc(problem.column),
                      reason=reason)
    return turn.t("admin_commands.csv_problem_line", line=problem.line, reason=reason)


def refused_text(turn: Turn, report: ImportReport) -> str:
    """Every problem found; nothing was applied."""
    rows = [turn.t("admin_commands.catalog_refused")]
    rows += [problem_text(turn, p) for p in report.problems]
    if report.more_problems:
        rows.append(turn.t.plural("admin_commands.csv_more", report.more_problems))
    rows.append(turn.t("admin_commands.catalog_send_again"))
    return "\n".join(rows)
