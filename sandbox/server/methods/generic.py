"""Fallback for spec methods the sandbox does not model: a well-formed minimal result."""

from __future__ import annotations

from typing import Any

from sandbox.server.methods.common import Call, deliver, target_chat, thread_for

# Message content for simple send methods, built from their parameters.
_CONTENT_FIELDS = {
    "sendLocation": ("location", ("latitude", "longitude", "horizontal_accuracy")),
    "sendVenue": ("venue", ("latitude", "longitude", "title", "address")),
    "sendContact": ("contact", ("phone_number", "first_name", "last_name", "vcard")),
    "sendDice": ("dice", ("emoji",)),
}


async def generic_handler(call: Call) -> Any:
    """Answer any other spec method with the minimal value of its return type."""
    returns = call.spec.returns.get(call.method, ("Boolean",))
    if returns[0] == "Message" and call.method.startswith("send") and "chat_id" in call.params:
        chat = target_chat(call)
        thread = thread_for(call, chat)
        key, fields = _CONTENT_FIELDS.get(call.method, ("", ()))
        content: dict[str, Any] = {}
        if key:
            content[key] = {f: call.get(f) for f in fields if call.get(f) is not None}
            if key == "venue":
                content[key] = {
                    "location": {
                        "latitude": call.get("latitude"),
                        "longitude": call.get("longitude"),
                    },
                    "title": call.get("title"),
                    "address": call.get("address"),
                }
            if key == "dice":
                content[key] = {"emoji": call.get("emoji") or "🎲", "value": 1}
        elif call.method == "sendPoll":
            poll = call.spec.minimal("Poll")
            poll.update(
                {
                    "question": call.get("question", ""),
                    "type": call.get("type") or "regular",
                    "options": [
                        {"text": o.get("text", ""), "voter_count": 0}
                        for o in call.get("options") or []
                    ],
                }
            )
            content["poll"] = poll
        return deliver(call, chat, content, thread=thread)
    if returns[0] == "Message" and "chat_id" in call.params:
        chat = call.state.resolve_chat(call.get("chat_id"))
        minimal = call.spec.minimal("Message")
        minimal.update({"message_id": call.get("message_id") or 1, "chat": chat.to_api()})
        return minimal
    if returns[0] == "MessageId":
        return {"message_id": 1}
    return call.spec.minimal(returns[0])
