"""My orders: the list, the order card with timeline and tracking, cancel, receipt, reviews.

```mermaid
stateDiagram-v2
    [*] --> List: /orders, 📦 My orders
    List --> Card: order:<id>
    Card --> ConfirmCancel: cancel:<id>
    ConfirmCancel --> Card: cancelok:<id> (cancelled) / order:<id> (no)
    Card --> Card: received:<id>, oos:<id>:wait|cancel
    Card --> ReviewText: rate:<id>:<1-5>
    ReviewText --> Card: text / revskip:<id>
    Card --> Returns: ret:<id> (handlers.returns)
```
"""
from __future__ import annotations

from handlers import callbacks
from handlers.orders import actions, review
from handlers.registry import Registry

callbacks.register("cancelok", "i")  # order id: "yes, cancel it" after the confirmation
callbacks.register("revskip", "i")  # order id: a review without words


def register(r: Registry) -> None:
    """Routes of this feature."""
    r.command("orders", actions.my_orders)
    r.menu_button("menu.orders", actions.my_orders)
    r.action("orders", actions.orders_page)
    r.action("order", actions.open_order)
    r.action("cancel", actions.ask_cancel)
    r.action("cancelok", actions.cancel)
    r.action("received", actions.confirm_receipt)
    r.action("oos", actions.out_of_stock)
    r.action("rate", review.rate)
    r.action("revskip", review.skip)
    r.step(review.STEP, review.review_text)
