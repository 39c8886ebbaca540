"""`KindSpec`: what the central registry (`kinds.py`) knows about one record kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# JSON-schema type names a payload field may declare.
JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "object", "array", "null", "any"})


@dataclass(frozen=True)
class KindSpec:
    """A record kind: a one-line description and its payload fields.

    `fields` maps each known payload key to its JSON-schema type name
    (`JSON_TYPES`; "any" means untyped). Every field is required unless named in
    `optional`. Keys a producer sends that are not listed are kept under
    `payload["extra"]` (forward compatible) and never rejected.
    """

    doc: str
    fields: Mapping[str, str] = field(default_factory=dict)
    optional: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.doc:
            raise ValueError("KindSpec.doc must describe the kind")
        for name, type_name in self.fields.items():
            if type_name not in JSON_TYPES:
                raise ValueError(f"KindSpec field {name!r}: unknown JSON type {type_name!r}")
        unknown = set(self.optional) - set(self.fields)
        if unknown:
            raise ValueError(f"KindSpec.optional names fields not in fields: {sorted(unknown)}")
        if "extra" in self.fields:
            raise ValueError("'extra' is reserved for unknown payload keys")

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name in self.fields if name not in self.optional)
