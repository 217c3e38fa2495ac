"""Support: customers talk to people in the shop's support forum, one topic per customer.

A customer opens a conversation (a session); what they send is queued for the topic, what
agents write in the topic is queued for the customer. Every relay is an outbox row written
with the link of the message it copies (unique per source message, so an update handled twice
queues one copy); the sender fills in the copy's id and the link the other way. An agent takes
the conversation over (the first one wins), releases it or closes it; the customer rates it.
"""
from services.support.desk import SupportService
from services.support.views import (
    CardView,
    OpenResult,
    SessionView,
    SupportStats,
    TakeOver,
    TopicRef,
)

__all__ = ["CardView", "OpenResult", "SessionView", "SupportService", "SupportStats",
           "TakeOver", "TopicRef"]
