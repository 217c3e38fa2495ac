"""/stats [period], /settlement <period>, /slip <order>: figures, statements and shipping slips."""
from __future__ import annotations

from datetime import date, datetime

from handlers.admin.cards import send_slips
from handlers.admin.commands.common import MAX_ARG, esc, usage
from handlers.admin.commands.periods import Period, parse_period
from handlers.events import Reply, SendDocument, SendPhoto, SendText
from handlers.i18n import Translator
from handlers.turn import Turn
from services import charts, reports
from services.container import Services
from services.errors import NotFound

DEFAULT_STATS_PERIOD = "30d"


def _period(turn: Turn, command: str, default: str | None = None) -> Period | None:
    text = turn.event.args.strip() or default or ""
    found = parse_period(text, turn.services.ctx.clock.now(), turn.settings.timezone) \
        if text and len(text) <= MAX_ARG else None
    if found is None:
        usage(turn, command, turn.t("admin_commands.bad_period", period=esc(text)) if text else "")
    return found


def _rate(t: Translator, value: float | None) -> str:
    return f"{100 * value:.1f}%" if value is not None else t("admin_commands.no_data")


def stats_text(t: Translator, report: reports.PerformanceReport, period: Period,
               currency: str) -> str:
    """The figures in words."""
    sales = report.sales
    average = t.money(sales.average_order_value, currency) if sales.average_order_value else "–"
    return t("admin_commands.stats", first=t.day(period.first_day),
             last=t.day(period.last_day), placed=report.orders_placed,
             on_time=_rate(t, report.on_time_shipping_rate), shipped_on_time=report.shipped_on_time,
             shipped=report.shipped, overdue=report.overdue_unshipped,
             accuracy=_rate(t, report.order_accuracy_rate), accurate=report.accurate_orders,
             satisfaction=_rate(t, report.after_sales_satisfaction),
             satisfied=report.after_sales_satisfied, rated=report.after_sales_rated,
             captured=t.money(sales.captured, currency), refunded=t.money(sales.refunded, currency),
             net=t.money(sales.net, currency), paid_orders=sales.paid_orders, average=average)


def chart_labels(t: Translator, period: Period, currency: str) -> charts.ChartLabels:
    """The chart's words in the admin's language."""
    return charts.ChartLabels(
        title=t("admin_commands.chart_title", first=t.day(period.first_day),
                last=t.day(period.last_day)),
        rates=t("admin_commands.chart_rates"), on_time=t("admin_commands.chart_on_time"),
        accuracy=t("admin_commands.chart_accuracy"),
        satisfaction=t("admin_commands.chart_satisfaction"), sales=t("admin_commands.chart_sales"),
        captured=t("admin_commands.chart_captured"), refunded=t("admin_commands.chart_refunded"),
        net=t("admin_commands.chart_net"), no_data=t("admin_commands.no_data"), currency=currency)


async def stats(turn: Turn) -> None:
    """/stats [period]: the figures as text and as a chart."""
    period = _period(turn, "stats", DEFAULT_STATS_PERIOD)
    if period is None:
        return
    ctx = turn.services.ctx
    report = await reports.performance(ctx.db, period.start, period.end, ctx.rules.ship_within,
                                       now=ctx.clock.now())
    currency = ctx.rules.currency
    turn.send(stats_text(turn.t, report, period, currency))
    png = await charts.performance_png_async(report, chart_labels(turn.t, period, currency),
                                             chart_labels(Translator("en", turn.t.timezone),
                                                          period, currency))
    turn.replies.append(SendPhoto(turn.chat_id, "stats.png", turn.t("admin_commands.chart_caption"),
                                  thread_id=turn.event.thread_id, content=png))


async def settlement(turn: Turn) -> None:
    """/settlement <period>: the statement as CSV, with its totals in a message."""
    period = _period(turn, "settlement")
    if period is None:
        return
    turn.replies.extend(await statement_replies(
        turn.services, turn.t, turn.chat_id, period.start, period.end, period.first_day,
        period.last_day, turn.event.thread_id))


async def statement_replies(services: Services, t: Translator, chat_id: int, start: datetime,
                            end: datetime, first_day: date, last_day: date,
                            thread_id: int | None = None) -> list[Reply]:
    """The settlement statement of [start, end): its totals as a message and the CSV file."""
    statement = await reports.settlement(services.ctx.db, start, end)
    currency = statement.currency or services.ctx.rules.currency
    money = t.money
    summary = t("admin_commands.settlement", first=t.day(first_day), last=t.day(last_day),
                orders=len(statement.rows), paid=money(statement.paid, currency),
                refunds=money(statement.refunds, currency), fees=money(statement.fees, currency),
                net=money(statement.net, currency))
    name = f"settlement_{first_day.isoformat()}_{last_day.isoformat()}.csv"
    # A BOM so that Excel opens the UTF-8 file with the right encoding.
    content = "\ufeff".encode() + reports.settlement_csv(statement).encode()
    return [SendText(chat_id, summary, thread_id=thread_id),
            SendDocument(chat_id, name, content, thread_id=thread_id)]


async def slip(turn: Turn) -> None:
    """/slip <order number>: each parcel's shipping slip PDF, ready to print."""
    number = turn.event.args.strip().lstrip("#№")
    if not number or len(number) > 20 or " " in number:
        return usage(turn, "slip")
    try:
        order = await turn.services.orders.by_number(number)
    except NotFound:
        return turn.send(turn.t("admin_commands.no_such_order", number=esc(number)))
    try:
        await send_slips(turn, order.id)
    except NotFound:  # no parcel yet: packing makes them
        turn.send(turn.t("admin_commands.not_packed", number=order.number))
