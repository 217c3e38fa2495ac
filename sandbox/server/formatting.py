"""parse_mode handling: turn HTML / MarkdownV2 / Markdown text into plain text plus entities.

Lengths are checked after this step (Telegram counts the text *after* entity parsing), and
malformed markup is rejected with Telegram's "can't parse entities: ..." messages.
"""

from __future__ import annotations

import html
import re
from typing import Any

from sandbox.server.errors import TelegramError, bad_request

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_ATTR_RE = re.compile(r'([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|([^\s>]+))')
_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}
_MDV2_TYPES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and text limits."""
    return len(text.encode("utf-16-le")) // 2


def _err(text: str) -> TelegramError:
    return bad_request(f"can't parse entities: {text}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """What Telegram keeps of a text: spaces and newlines dropped at the end, and at the start
    up to the first entity; entities cut to the text that is left (tdlib's fix_formatted_text)."""
    kept = text.rstrip(" \n")
    end = utf16_len(kept)
    cut = [{**e, "length": min(e["length"], end - e["offset"])} for e in entities
           if e["offset"] < end]
    first = min((e["offset"] for e in cut), default=end)
    lead = min(len(kept) - len(kept.lstrip(" \n")), first)
    return kept[lead:], [{**e, "offset": e["offset"] - lead} for e in cut]


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain text, entities) for `text` under `parse_mode` (None = no parsing)."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise bad_request("unsupported parse_mode")


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram's HTML subset; reject unknown, unbalanced or unclosed tags."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, dict[str, Any]]] = []  # (tag, utf16 start, entity extras)
    pos16 = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "&":
            m = re.match(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);", text[i:])
            if m and html.unescape(m.group(0)) != m.group(0):
                decoded = html.unescape(m.group(0))
                out.append(decoded)
                pos16 += utf16_len(decoded)
                i += len(m.group(0))
                continue
            out.append(ch)
            pos16 += 1
            i += 1
            continue
        if ch != "<":
            out.append(ch)
            pos16 += utf16_len(ch)
            i += 1
            continue
        end = text.find(">", i)
        if end == -1:
            raise _err(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
        raw = text[i + 1 : end]
        if raw.startswith("/"):
            name = raw[1:].strip().lower()
            if not stack:
                raise _err(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
            open_tag, start, extra = stack.pop()
            if name and name != open_tag:
                raise _err(
                    f"Unmatched end tag at byte offset {_byte_offset(text, i)}, "
                    f'expected "</{open_tag}>", found "</{name}>"'
                )
            if pos16 > start or open_tag == "pre":
                entities.append({"offset": start, "length": pos16 - start, **extra})
        else:
            m = re.match(r"\s*([a-zA-Z-]+)", raw)
            name = m.group(1).lower() if m else ""
            if name not in _HTML_TAGS:
                raise _err(f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, i)}')
            attrs = {
                a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or ""
                for a in _ATTR_RE.finditer(raw[len(m.group(0)) if m else 0 :])
            }
            extra = {"type": _HTML_TAGS[name]}
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise _err(
                    'Tag "span" must have class "tg-spoiler" '
                    f"at byte offset {_byte_offset(text, i)}"
                )
            if name == "a":
                href = attrs.get("href", "")
                user = re.match(r"tg://user\?id=(\d+)", href)
                if user:
                    extra = {
                        "type": "text_mention",
                        "user": {"id": int(user.group(1)), "is_bot": False, "first_name": ""},
                    }
                else:
                    extra["url"] = href
            if name == "blockquote" and "expandable" in raw:
                extra["type"] = "expandable_blockquote"
            if name == "tg-emoji":
                extra["custom_emoji_id"] = attrs.get("emoji-id", "")
            if name == "code" and stack and stack[-1][0] == "pre" and "class" in attrs:
                stack[-1][2]["language"] = attrs["class"].removeprefix("language-")
            stack.append((name, pos16, extra))
        i = end + 1
    if stack:
        raise _err(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse MarkdownV2; unescaped reserved characters and unclosed entities are errors."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, int]] = []  # (marker, utf16 start, index in text)
    pos16 = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            out.append(text[i + 1])
            pos16 += utf16_len(text[i + 1])
            i += 2
            continue
        if ch == "`":
            fence = "```" if text.startswith("```", i) else "`"
            close = text.find(fence, i + len(fence))
            if close == -1:
                kind = "Pre" if fence == "```" else "Code"
                raise _err(
                    f"Can't find end of {kind} entity at byte offset {_byte_offset(text, i)}"
                )
            body = text[i + len(fence) : close]
            entity: dict[str, Any] = {"type": "code"}
            if fence == "```":
                entity = {"type": "pre"}
                first, _, rest = body.partition("\n")
                if rest and first and " " not in first:
                    entity["language"] = first
                    body = rest
            body = re.sub(r"\\(.)", r"\1", body)
            entities.append({"offset": pos16, "length": utf16_len(body), **entity})
            out.append(body)
            pos16 += utf16_len(body)
            i = close + len(fence)
            continue
        if ch == "[":
            m = re.match(r"\[((?:\\.|[^\]\\])*)\]\(((?:\\.|[^)\\])*)\)", text[i:])
            if not m:
                raise _err(
                    f"Can't find end of TextUrl entity at byte offset {_byte_offset(text, i)}"
                )
            inner, inner_entities = parse_markdown_v2(m.group(1))
            for e in inner_entities:
                e["offset"] += pos16
            entities.append(
                {
                    "offset": pos16,
                    "length": utf16_len(inner),
                    "type": "text_link",
                    "url": re.sub(r"\\(.)", r"\1", m.group(2)),
                }
            )
            entities.extend(inner_entities)
            out.append(inner)
            pos16 += utf16_len(inner)
            i += len(m.group(0))
            continue
        marker = next((mk for mk in ("__", "||", "*", "_", "~") if text.startswith(mk, i)), None)
        if marker:
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                entities.append(
                    {"offset": start, "length": pos16 - start, "type": _MDV2_TYPES[marker]}
                )
            else:
                stack.append((marker, pos16, i))
            i += len(marker)
            continue
        if ch in _MDV2_RESERVED:
            raise _err(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")
        out.append(ch)
        pos16 += utf16_len(ch)
        i += 1
    if stack:
        marker, _, idx = stack[-1]
        raise _err(
            f"Can't find end of {_MDV2_NAMES[marker]} entity "
            f"at byte offset {_byte_offset(text, idx)}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Markdown (*bold* _italic_ `code` ```pre``` [text](url))."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    pos16 = 0
    i = 0
    kinds = {"*": "bold", "_": "italic", "`": "code"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "*_`[":
            out.append(text[i + 1])
            pos16 += 1
            i += 2
            continue
        if ch == "[":
            m = re.match(r"\[([^\]]*)\]\(([^)]*)\)", text[i:])
            if not m:
                raise _err(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            entities.append(
                {
                    "offset": pos16,
                    "length": utf16_len(m.group(1)),
                    "type": "text_link",
                    "url": m.group(2),
                }
            )
            out.append(m.group(1))
            pos16 += utf16_len(m.group(1))
            i += len(m.group(0))
            continue
        if ch in kinds:
            fence = "```" if text.startswith("```", i) else ch
            close = text.find(fence, i + len(fence))
            if close == -1:
                raise _err(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            body = text[i + len(fence) : close]
            kind = "pre" if fence == "```" else kinds[ch]
            entities.append({"offset": pos16, "length": utf16_len(body), "type": kind})
            out.append(body)
            pos16 += utf16_len(body)
            i = close + len(fence)
            continue
        out.append(ch)
        pos16 += utf16_len(ch)
        i += 1
    return "".join(out), entities


def command_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram's apps attach to what a user types (bot commands, mentions, URLs)."""
    entities: list[dict[str, Any]] = []
    for m in re.finditer(r"(?<![\w/])/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]+)?", text):
        entities.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: m.start()]),
                "length": utf16_len(m.group(0)),
            }
        )
    for m in re.finditer(r"(?<!\w)@[a-zA-Z0-9_]{5,32}", text):
        entities.append(
            {
                "type": "mention",
                "offset": utf16_len(text[: m.start()]),
                "length": utf16_len(m.group(0)),
            }
        )
    for m in re.finditer(r"https?://[^\s]+", text):
        entities.append(
            {"type": "url", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
        )
    entities.sort(key=lambda e: e["offset"])
    return entities
