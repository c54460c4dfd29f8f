"""Loads a typed experiment config from YAML, with `base:` inheritance and dotted overrides.

Every key is checked against the dataclass tree: an unknown key or a value of the wrong type is a
`ConfigError` that names the dotted key and the file it came from; so is a failed check across
fields (`checks.py`). Keys of older configs are translated first (`legacy_keys.py`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import yaml

from efgrnet_tf.config import checks, legacy_keys
from efgrnet_tf.config.data import DataConfig
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.config.raw_trees import deep_merge, dotted_keys


class ConfigError(ValueError):
    """A config file or override that does not fit the config tree."""


def load_config(path: str | os.PathLike, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Reads `path` (following `base:` chains), applies `key.sub=value` overrides, validates.

    Args:
      path: a YAML file whose keys mirror `ExperimentConfig`.
      overrides: strings like `model.num_classes=21`; values are parsed as YAML scalars/lists.
    Returns:
      A fully typed, frozen `ExperimentConfig`, checked as a whole (`checks.check_config`).
    """
    raw, sources = _read_with_bases(os.fspath(path), seen=())
    _apply_overrides(raw, sources, [_parse_override(text) for text in overrides])
    return _build_checked(raw, sources, default_source=os.fspath(path))


def config_from_dict(raw: Mapping[str, Any], source: str = "<dict>") -> ExperimentConfig:
    """Builds and checks a config from a nested dict (used by tests and saved run configs)."""
    raw = copy.deepcopy(dict(raw))
    _upgrade_layer(raw, {}, source)
    return _build_checked(raw, sources={}, default_source=source)


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
    base = raw.pop("base", None)
    if base is None:
        _upgrade_layer(raw, {}, path)
        return raw, {key: path for key in dotted_keys(raw)}
    base_path = os.path.join(os.path.dirname(path), base)
    merged, base_sources = _read_with_bases(base_path, (*seen, real))
    _upgrade_layer(raw, merged, path)
    deep_merge(merged, raw)
    base_sources.update({key: path for key in dotted_keys(raw)})
    return merged, base_sources


def _upgrade_layer(layer: dict, bases: Mapping, where: str) -> None:
    """Translates the flat data keys of one file (or dict) whose bases merged to `bases`."""
    with _reported_as_set_by(where):
        legacy_keys.upgrade_flat_data_keys(layer.get("data"), _data_source(bases), where)


def _apply_overrides(raw: dict, sources: dict, overrides: list[tuple[str, Any, str]]) -> None:
    """Sets each `(key, value, source)` in `raw`; flat data keys (`legacy_keys`) are
    translated together, after the others, so that their `data.source` override applies."""
    flat = [item for item in overrides if item[0] in _FLAT_DATA_OVERRIDES]
    for key, value, source in overrides:
        if key not in _FLAT_DATA_OVERRIDES:
            _set_dotted(raw, key, value)
            sources[key] = source
    if not flat:
        return
    layer: dict = {}
    for key, value, _ in flat:
        _set_dotted(layer, key, value)
    where = ", ".join(source for _, _, source in flat)
    with _reported_as_set_by(where):
        legacy_keys.upgrade_flat_data_keys(layer["data"], _data_source(raw), where)
    for leaf in dotted_keys(layer, leaves_only=True):
        _set_dotted(raw, leaf, _get_dotted(layer, leaf))
        sources[leaf] = where


_FLAT_DATA_OVERRIDES = frozenset(f"data.{key}" for key in legacy_keys.FLAT_DATA_KEYS)


def _data_source(raw: Mapping) -> str:
    data = raw.get("data")
    source = data.get("source") if isinstance(data, Mapping) else None
    return source if isinstance(source, str) else DataConfig.source


def _get_dotted(raw: Mapping, key: str) -> Any:
    for part in key.split("."):
        raw = raw[part]
    return raw


@contextlib.contextmanager
def _reported_as_set_by(where: str):
    """Turns an `InvalidField` raised inside into a `ConfigError` naming `where`."""
    try:
        yield
    except checks.InvalidField as e:
        raise ConfigError(f"{where}: {e}") from e


def _build_checked(raw: dict, sources: Mapping[str, str], default_source: str) -> ExperimentConfig:
    """The typed config of the merged `raw`, after the checks across fields (`checks.py`)."""
    anchors_per_cell_source = _source(sources, "model.num_anchors_per_cell", default_source)
    with _reported_as_set_by(anchors_per_cell_source):
        legacy_keys.drop_num_anchors_per_cell(raw, anchors_per_cell_source)
    cfg = _build(ExperimentConfig, raw, prefix="", sources=sources, default_source=default_source)
    try:
        checks.check_config(cfg)
    except checks.InvalidField as e:
        raise ConfigError(f"{_source(sources, e.key, default_source)}: {e}") from e
    return cfg


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
    """The file or override that set `key` (`a.b[2].c`), one of its fields, or its closest
    enclosing key."""
    fields = [source for dotted, source in sources.items() if dotted.startswith(key + ".")]
    if key not in sources and fields:
        return fields[-1]
    while key:
        if key in sources:
            return sources[key]
        key = key[: key.rindex("[")] if key.endswith("]") else key.rpartition(".")[0]
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
