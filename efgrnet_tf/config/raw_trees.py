"""Helpers on the raw nested dicts a YAML config parses to, before they become dataclasses."""

from __future__ import annotations

from collections.abc import Mapping


def deep_merge(into: dict, new: Mapping) -> None:
    """Merges `new` into `into` in place: mappings merge key by key, anything else replaces."""
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            deep_merge(into[key], value)
        else:
            into[key] = value


def dotted_keys(raw: Mapping, prefix: str = "", leaves_only: bool = False) -> list[str]:
    """`a`, `a.b`, ... of every key in `raw` (only keys that hold no mapping with
    `leaves_only`)."""
    keys = []
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if not leaves_only:
                keys.append(dotted)
            keys.extend(dotted_keys(value, dotted + ".", leaves_only))
        else:
            keys.append(dotted)
    return keys
