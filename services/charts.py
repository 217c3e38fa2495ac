"""Charts of the merchant's figures as PNG bytes (matplotlib, Agg backend, no display needed)."""
from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from services.reports import PerformanceReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# Fonts with Chinese glyphs, tried in order; the bundled DejaVu has none.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei", "AR PL UMing CN")
_GREEN, _BLUE, _RED, _GREY = "#2e7d32", "#1565c0", "#c62828", "#9e9e9e"


@dataclass(frozen=True)
class ChartLabels:
    """The chart's words, in the reader's language."""

    title: str
    rates: str
    on_time: str
    accuracy: str
    satisfaction: str
    sales: str
    captured: str
    refunded: str
    net: str
    no_data: str
    currency: str


@cache
def cjk_font() -> str | None:
    """An installed font that draws Chinese, if any."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _needs_cjk(labels: ChartLabels) -> bool:
    return any(ord(ch) > 0x2E7F for value in labels.__dict__.values() for ch in value)


def performance_png(report: PerformanceReport, labels: ChartLabels,
                    fallback: ChartLabels | None = None) -> bytes:
    """Rates (percent) and sales (in major units) side by side, as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = cjk_font()
    if _needs_cjk(labels) and font is None and fallback is not None:
        labels = fallback  # boxes instead of words help nobody: English it is
    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    rc = {"fontfamily": [font, "DejaVu Sans"] if font else ["DejaVu Sans"]}
    rates_axes, sales_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    _rates(rates_axes, report, labels, rc)
    _sales(sales_axes, report, labels, rc)
    figure.suptitle(labels.title, **rc)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


async def performance_png_async(report: PerformanceReport, labels: ChartLabels,
                                fallback: ChartLabels | None = None) -> bytes:
    """performance_png in a worker thread: drawing takes ~0.1 s of CPU the event loop needs."""
    return await asyncio.to_thread(performance_png, report, labels, fallback)


def _rates(axes: Axes, report: PerformanceReport, labels: ChartLabels, rc: dict[str, Any]) -> None:
    names = [labels.on_time, labels.accuracy, labels.satisfaction]
    values = [report.on_time_shipping_rate, report.order_accuracy_rate,
              report.after_sales_satisfaction]
    bars = axes.barh(names, [100 * (v or 0) for v in values],
                     color=[_GREEN if v is not None else _GREY for v in values])
    axes.set_xlim(0, 115)
    axes.invert_yaxis()
    axes.set_title(labels.rates, **rc)
    for bar, value in zip(bars, values, strict=True):
        text = f"{100 * value:.1f}%" if value is not None else labels.no_data
        axes.text(bar.get_width() + 2, bar.get_y() + bar.get_height() / 2, text,
                  va="center", **rc)
    for label in axes.get_yticklabels():
        label.set_fontfamily(rc["fontfamily"])


def _sales(axes: Axes, report: PerformanceReport, labels: ChartLabels, rc: dict[str, Any]) -> None:
    sales = report.sales
    names = [labels.captured, labels.refunded, labels.net]
    values = [sales.captured / 100, sales.refunded / 100, sales.net / 100]
    bars = axes.bar(names, values, color=[_BLUE, _RED, _GREEN])
    axes.set_title(f"{labels.sales} ({labels.currency})", **rc)
    axes.axhline(0, color="black", linewidth=0.8)
    top = max([abs(v) for v in values] + [1])
    axes.set_ylim(min(0, min(values)) * 1.2, top * 1.2)
    for bar, value in zip(bars, values, strict=True):
        axes.text(bar.get_x() + bar.get_width() / 2, max(value, 0) + top * 0.02,
                  f"{value:,.2f}", ha="center", va="bottom", fontsize=8)
    for label in axes.get_xticklabels():
        label.set_fontfamily(rc["fontfamily"])
