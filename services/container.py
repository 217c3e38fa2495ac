"""All services, built once from a ServiceContext by the composition root (or a test)."""
from __future__ import annotations

from dataclasses import dataclass

from services.cart import CartService
from services.catalog import CatalogService
from services.catalog_import import CatalogImportService
from services.checkout import CheckoutService
from services.checkout_form import FormCheckoutService
from services.context import ServiceContext
from services.conversation import ConversationService
from services.customers import CustomerService
from services.inventory.service import InventoryService
from services.merchant import MerchantService
from services.orders.service import OrderService
from services.orders.sweeps import OrderSweeps
from services.outbox import OutboxService
from services.payments.inbox import PaymentInbox
from services.payments.refunds import RefundService
from services.payments.service import PaymentService
from services.phone_orders import PhoneOrderService
from services.reorder import ReorderService
from services.returns import ReturnService
from services.reviews import ReviewService
from services.settlements import SettlementService
from services.shipping.tracking import TrackingService
from services.support import SupportService


@dataclass(frozen=True)
class Services:
    """The services layer, as handlers, the admin chat, the scheduler and webhooks use it."""

    ctx: ServiceContext
    customers: CustomerService
    catalog: CatalogService
    cart: CartService
    checkout: CheckoutService
    checkout_form: FormCheckoutService
    reorder: ReorderService
    orders: OrderService
    payments: PaymentService
    payment_inbox: PaymentInbox
    refunds: RefundService
    inventory: InventoryService
    sweeps: OrderSweeps
    conversation: ConversationService
    outbox: OutboxService
    returns: ReturnService
    settlements: SettlementService
    reviews: ReviewService
    tracking: TrackingService
    catalog_import: CatalogImportService
    phone_orders: PhoneOrderService
    merchant: MerchantService
    support: SupportService


def build_services(ctx: ServiceContext) -> Services:
    """Wire every service to the same context."""
    payments, checkout = PaymentService(ctx), CheckoutService(ctx)
    return Services(
        ctx=ctx,
        customers=CustomerService(ctx),
        catalog=CatalogService(ctx),
        cart=CartService(ctx),
        checkout=checkout,
        checkout_form=FormCheckoutService(ctx, checkout),
        reorder=ReorderService(ctx),
        orders=OrderService(ctx),
        payments=payments,
        payment_inbox=PaymentInbox(ctx, payments),
        refunds=RefundService(ctx),
        inventory=InventoryService(ctx),
        sweeps=OrderSweeps(ctx),
        conversation=ConversationService(ctx),
        outbox=OutboxService(ctx),
        returns=ReturnService(ctx),
        settlements=SettlementService(ctx),
        reviews=ReviewService(ctx),
        tracking=TrackingService(ctx),
        catalog_import=CatalogImportService(ctx),
        phone_orders=PhoneOrderService(ctx),
        merchant=MerchantService(ctx),
        support=SupportService(ctx),
    )
