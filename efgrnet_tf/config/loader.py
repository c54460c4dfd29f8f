"""Loads a typed experiment config from YAML, with `base:` inheritance and dotted overrides.

Every key is checked against the dataclass tree: an unknown key or a value of the wrong type is a
`ConfigError` that names the dotted key and the file it came from.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import yaml

from efgrnet_tf.config.experiment import ExperimentConfig


class ConfigError(ValueError):
    """A config file or override that does not fit the config tree."""


def load_config(path: str | os.PathLike, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Reads `path` (following `base:` chains), applies `key.sub=value` overrides, validates.

    Args:
      path: a YAML file whose keys mirror `ExperimentConfig`.
      overrides: strings like `model.num_classes=21`; values are parsed as YAML scalars/lists.
    Returns:
      A fully typed, frozen `ExperimentConfig`.
    """
    raw, sources = _read_with_bases(os.fspath(path), seen=())
    for override in overrides:
        key, value, source = _parse_override(override)
        _set_dotted(raw, key, value)
        sources[key] = source
    return _build(ExperimentConfig, raw, prefix="", sources=sources, default_source=os.fspath(path))


def config_from_dict(raw: Mapping[str, Any], source: str = "<dict>") -> ExperimentConfig:
    """Builds and validates a config from a nested dict (used by tests and saved run configs)."""
    return _build(ExperimentConfig, dict(raw), prefix="", sources={}, default_source=source)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The nested plain-Python form of a config, suitable for YAML/JSON dumping."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple | list):
            return [convert(v) for v in value]
        return value

    return convert(cfg)


def save_config(cfg: ExperimentConfig, path: str | os.PathLike) -> None:
    """Writes `cfg` as YAML that `load_config` reads back to an equal config.

    The file appears complete or not at all (written beside it, then renamed): the other
    workers of a multi-worker run read the run folder's config while the chief writes it.
    """
    path = os.fspath(path)
    staging = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp-{os.getpid()}")
    with open(staging, "w") as f:
        yaml.safe_dump(config_to_dict(cfg), f, sort_keys=False)
    os.replace(staging, path)


def _read_with_bases(path: str, seen: tuple[str, ...]) -> tuple[dict, dict[str, str]]:
    real = os.path.realpath(path)
    if real in seen:
        raise ConfigError(f"{path}: circular `base:` chain {' -> '.join((*seen, real))}")
    try:
        with open(path) as f:
            raw = yaml.safe_load(f) or {}
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(raw).__name__}")
    sources = {key: path for key in _dotted_keys(raw)}
    base = raw.pop("base", None)
    if base is None:
        return raw, sources
    base_path = os.path.join(os.path.dirname(path), base)
    merged, base_sources = _read_with_bases(base_path, (*seen, real))
    _deep_merge(merged, raw)
    base_sources.update(sources)
    return merged, base_sources


def _dotted_keys(raw: Mapping, prefix: str = "") -> list[str]:
    keys = []
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        keys.append(dotted)
        if isinstance(value, Mapping):
            keys.extend(_dotted_keys(value, dotted + "."))
    return keys


def _deep_merge(into: dict, new: Mapping) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _parse_override(text: str) -> tuple[str, Any, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} must look like section.key=value")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as e:
        raise ConfigError(f"override {text!r}: cannot parse value: {e}") from e
    return key.strip(), parsed, f"override {text!r}"


def _set_dotted(raw: dict, key: str, value: Any) -> None:
    node = raw
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override of {key!r}: {part!r} is not a section")
    node[parts[-1]] = value


def _source(sources: Mapping[str, str], key: str, default: str) -> str:
    while key:
        if key in sources:
            return sources[key]
        key = key.rpartition(".")[0]
    return default


def _build(cls: type, raw: Any, prefix: str, sources: Mapping[str, str], default_source: str):
    where = prefix.rstrip(".") or "<root>"
    if not isinstance(raw, Mapping):
        src = _source(sources, prefix.rstrip("."), default_source)
        raise ConfigError(f"{src}: {where} must be a mapping, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in names:
            src = _source(sources, prefix + str(key), default_source)
            raise ConfigError(
                f"{src}: unknown key {prefix}{key!s} (known keys of {where}: {sorted(names)})"
            )
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        dotted = prefix + f.name
        kwargs[f.name] = _convert(hints[f.name], raw[f.name], dotted, sources, default_source)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        src = _source(sources, prefix.rstrip("."), default_source)
        raise ConfigError(f"{src}: invalid {where}: {e}") from e


def _convert(hint: Any, value: Any, dotted: str, sources, default_source: str) -> Any:
    def fail(expected: str):
        src = _source(sources, dotted, default_source)
        raise ConfigError(f"{src}: {dotted} must be {expected}, got {value!r}")

    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, dotted + ".", sources, default_source)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _convert(non_none[0], value, dotted, sources, default_source)
        fail(f"one of {non_none}")
    if origin is Literal:
        if value not in args:
            fail(f"one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            fail("a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(
                _convert(args[0], v, f"{dotted}[{i}]", sources, default_source)
                for i, v in enumerate(value)
            )
        if len(value) != len(args):
            fail(f"a list of {len(args)} items")
        return tuple(
            _convert(a, v, f"{dotted}[{i}]", sources, default_source)
            for i, (a, v) in enumerate(zip(args, value, strict=True))
        )
    if hint is bool:
        if not isinstance(value, bool):
            fail("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fail("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail("a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            fail("a string")
        return value
    raise ConfigError(f"{dotted}: unsupported config field type {hint!r}")
