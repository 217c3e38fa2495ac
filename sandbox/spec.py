"""The machine-readable Bot API spec (api.min.json), loaded once and queried by the server."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

SCALARS = {"Integer", "String", "Boolean", "Float", "True", "InputFile"}


@dataclass(frozen=True)
class FieldSpec:
    """One parameter of a method or field of a type."""

    name: str
    types: tuple[str, ...]
    required: bool
    description: str = ""


@dataclass
class Spec:
    """Lookup tables over the Bot API spec."""

    version: str
    methods: dict[str, list[FieldSpec]]
    returns: dict[str, tuple[str, ...]]
    types: dict[str, list[FieldSpec]]
    subtypes: dict[str, list[str]]
    _lower: dict[str, str] = field(default_factory=dict)

    def canonical_method(self, name: str) -> str | None:
        """Return the spec spelling of a method name, matched case-insensitively."""
        return self._lower.get(name.lower())

    def minimal(self, type_name: str, depth: int = 0) -> Any:
        """Build the smallest well-formed value of a spec type (for methods we do not model)."""
        if type_name.startswith("Array of "):
            return []
        if type_name in ("Boolean", "True"):
            return True
        if type_name == "Integer":
            return 0
        if type_name == "Float":
            return 0.0
        if type_name == "String":
            return ""
        if self.subtypes.get(type_name):
            return self.minimal(self.subtypes[type_name][0], depth)
        if depth > 4 or type_name not in self.types:
            return {}
        out: dict[str, Any] = {}
        for f in self.types[type_name]:
            if f.required:
                out[f.name] = self._minimal_field(type_name, f, depth)
        return out

    def _minimal_field(self, owner: str, f: FieldSpec, depth: int) -> Any:
        # Discriminator fields ("type", "status", "source") must hold the value the
        # description names, or typed clients (aiogram/PTB) pick the wrong subclass.
        if f.name in ("type", "status", "source") and f.types == ("String",):
            import re

            m = re.search(r'(?:always|must be) [“"]?([a-z_]+)', f.description)
            if m:
                return m.group(1)
        return self.minimal(f.types[0], depth + 1)


def _fields(raw: list[dict[str, Any]] | None) -> list[FieldSpec]:
    return [
        FieldSpec(f["name"], tuple(f["types"]), bool(f.get("required")), f.get("description", ""))
        for f in raw or []
    ]


@lru_cache(maxsize=1)
def load_spec() -> Spec:
    """Load api.min.json shipped as package data."""
    text = resources.files("sandbox").joinpath("api.min.json").read_text(encoding="utf-8")
    data = json.loads(text)
    methods = {name: _fields(m.get("fields")) for name, m in data["methods"].items()}
    returns = {name: tuple(m.get("returns", ["Boolean"])) for name, m in data["methods"].items()}
    types = {name: _fields(t.get("fields")) for name, t in data["types"].items()}
    subtypes = {name: list(t.get("subtypes", [])) for name, t in data["types"].items()}
    spec = Spec(data.get("version", ""), methods, returns, types, subtypes)
    spec._lower = {name.lower(): name for name in methods}
    return spec
