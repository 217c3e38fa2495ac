"""SQLAlchemy 2.0 typed models; importing this package registers every table on Base.metadata."""
from models.aftersales import ReturnLine, ReturnRequest, Review
from models.base import Base, utcnow
from models.cart import Cart, CartLine
from models.catalog import Category, Product
from models.customer import Address, Customer
from models.inventory import (
    ReservationStatus,
    Stock,
    StockReservation,
    StockSubscription,
    Warehouse,
)
from models.order import CheckoutForm, Order, OrderEvent, OrderLine, OrderStatus
from models.payment import InboxStatus, Payment, PaymentInboxEntry, Refund, RefundStatus
from models.shipment import CarrierEvent, Shipment, ShipmentLine
from models.support import SupportLink, SupportSession, SupportTopic
from models.system import (
    AdminCard,
    ConversationState,
    OutboxMessage,
    OutboxStatus,
    ProcessedUpdate,
)

__all__ = [
    "Address",
    "AdminCard",
    "Base",
    "CarrierEvent",
    "Cart",
    "CartLine",
    "Category",
    "CheckoutForm",
    "ConversationState",
    "Customer",
    "InboxStatus",
    "Order",
    "OrderEvent",
    "OrderLine",
    "OrderStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Payment",
    "PaymentInboxEntry",
    "ProcessedUpdate",
    "Product",
    "Refund",
    "RefundStatus",
    "ReservationStatus",
    "ReturnLine",
    "ReturnRequest",
    "Review",
    "Shipment",
    "ShipmentLine",
    "Stock",
    "StockReservation",
    "StockSubscription",
    "SupportLink",
    "SupportSession",
    "SupportTopic",
    "Warehouse",
    "utcnow",
]
