"""Reading settings: the YAML file, the environment overrides, and one-line errors."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

Key = tuple[str, ...]


def _ids(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# Environment variable -> the key it overrides, and how its text becomes a value.
ENV_OVERRIDES: dict[str, tuple[Key, Callable[[str], Any]]] = {
    "SHOPBOT_DATABASE_URL": (("database", "url"), str),
    "SHOPBOT_DATABASE_POOL_SIZE": (("database", "pool_size"), str),
    "SHOPBOT_FRAMEWORK": (("telegram", "framework"), str),
    "SHOPBOT_MODE": (("telegram", "mode"), str),
    "SHOPBOT_TELEGRAM_API_URL": (("telegram", "api_url"), str),
    "BOT_TOKEN": (("telegram", "token"), str),
    "SHOPBOT_WEBHOOK_URL": (("telegram", "webhook", "public_url"), str),
    "SHOPBOT_WEBHOOK_SECRET": (("telegram", "webhook", "secret_token"), str),
    "SHOPBOT_WEBHOOK_HOST": (("telegram", "webhook", "host"), str),
    "SHOPBOT_WEBHOOK_PORT": (("telegram", "webhook", "port"), str),
    "SHOPBOT_ADMIN_CHAT_ID": (("admin", "chat_id"), str),
    "SHOPBOT_ADMIN_USER_IDS": (("admin", "user_ids"), _ids),
    "SHOPBOT_SUPPORT_CHAT_ID": (("support", "chat_id"), str),
    "SHOPBOT_SUPPORT_AGENTS": (("support", "agents"), _ids),
    "SHOPBOT_SANDBOX_PAYMENT_SECRET": (("payments", "sandbox_secret"), str),
    "SHOPBOT_TELEGRAM_PROVIDER_TOKEN": (("payments", "telegram_provider_token"), str),
    "SHOPBOT_STRIPE_API_KEY": (("payments", "stripe", "api_key"), str),
    "SHOPBOT_STRIPE_WEBHOOK_SECRET": (("payments", "stripe", "webhook_secret"), str),
    "SHOPBOT_REDIS_URL": (("redis", "url"), str),
    "SHOPBOT_WEB_HOST": (("web", "host"), str),
    "SHOPBOT_WEB_PORT": (("web", "port"), str),
    "SHOPBOT_LOG_LEVEL": (("logging", "level"), str),
    "SHOPBOT_LOG_FORMAT": (("logging", "format"), str),
}
# Secrets come from the environment only, so config.yaml can be committed and shared.
SECRET_KEYS: dict[Key, str] = {
    ("bot_token",): "BOT_TOKEN",
    ("token",): "BOT_TOKEN",
    ("telegram", "token"): "BOT_TOKEN",
    ("telegram", "webhook", "secret_token"): "SHOPBOT_WEBHOOK_SECRET",
    ("payments", "sandbox_secret"): "SHOPBOT_SANDBOX_PAYMENT_SECRET",
    ("payments", "telegram_provider_token"): "SHOPBOT_TELEGRAM_PROVIDER_TOKEN",
    ("payments", "stripe", "api_key"): "SHOPBOT_STRIPE_API_KEY",
    ("payments", "stripe", "webhook_secret"): "SHOPBOT_STRIPE_WEBHOOK_SECRET",
}
# Values never repeated in an error message: secrets, and URLs that may carry a password.
NOT_ECHOED = set(SECRET_KEYS.values()) | {"SHOPBOT_DATABASE_URL", "SHOPBOT_REDIS_URL"}
NOT_ECHOED_KEYS = set(SECRET_KEYS) | {("database", "url"), ("redis", "url")}


class ConfigError(Exception):
    """A setting is wrong; str(error) is one line naming the key and the problem."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config error: {key}: {problem}")
        self.key = key

    @classmethod
    def from_validation(cls, error: ValidationError, sources: Mapping[Key, str]) -> ConfigError:
        """The first problem pydantic found, worded for a person editing config.yaml."""
        errors = error.errors()
        first = errors[0]
        names = tuple(str(part) for part in first["loc"] if isinstance(part, str))
        key = _env_source(names, sources) or _dotted(first["loc"]) or "config"
        problem = _reword(first["type"], first["msg"])
        secret = key in NOT_ECHOED or names in NOT_ECHOED_KEYS
        shown = first.get("input")
        if not secret and first["type"] != "extra_forbidden" and _is_scalar(shown):
            problem += f" (got {shown!r})"
        if len(errors) > 1:
            problem += f" (and {len(errors) - 1} more)"
        return cls(key, problem)


def _env_source(names: Key, sources: Mapping[Key, str]) -> str | None:
    for size in range(len(names), 0, -1):
        if names[:size] in sources:
            return sources[names[:size]]
    return None


def _dotted(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _reword(kind: str, message: str) -> str:
    if kind == "extra_forbidden":
        return "unknown key (check its spelling against config.yaml)"
    if kind == "missing":
        return "is required"
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = re.sub(r"a valid dictionary or instance of \w+", "a section of keys", message)
    return message.replace("Input should be", "must be").replace("String should", "must")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def read_settings(path: Path, env: Mapping[str, str]) -> tuple[dict[str, Any], dict[Key, str]]:
    """The raw settings from `path` (none if missing) with the environment applied on top."""
    settings = _read_yaml(path)
    for key, env_name in SECRET_KEYS.items():
        if _lookup(settings, key) is not None:
            where = ".".join(key)
            raise ConfigError(where, f"secrets go in the {env_name} environment variable, "
                              f"not in {path.name}")
    sources: dict[Key, str] = {}
    for env_name, (key, parse) in ENV_OVERRIDES.items():
        text = env.get(env_name, "").strip()
        if text:  # an empty variable (common in compose files) means "not set"
            _assign(settings, key, parse(text), env_name)
            sources[key] = env_name
    return settings, sources


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(str(path), f"cannot read: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError(str(path), f"invalid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "must be a mapping of sections (database:, telegram:, ...)")
    return data


def _lookup(settings: Mapping[str, Any], key: Key) -> Any:
    node: Any = settings
    for part in key:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _assign(settings: dict[str, Any], key: Key, value: Any, env_name: str) -> None:
    node = settings
    for part in key[:-1]:
        child = node.setdefault(part, {})
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(".".join(key), f"cannot apply {env_name}: {part} is not a section")
        node = child
    node[key[-1]] = value
