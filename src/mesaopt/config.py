"""Typed config loading: YAML selects and overrides, dataclasses next to the code own the schema.

`parse(Schema, mapping, "path")` turns a plain mapping into a frozen dataclass, checking unknown
keys and types, then calls the schema's `validate()`. Every failure is one `ConfigError` line that
names the field and what is allowed.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Union


class ConfigError(ValueError):
    """A bad config value; the message is one line naming the field."""


def require(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise ConfigError(f"{field}: {message}")


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, field: str) -> Any:
    if tp is Any:  # a section whose schema is chosen later (e.g. by the selected module)
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, field)
            except ConfigError:
                continue
        raise ConfigError(f"{field}: expected {_type_name(tp)}, got {value!r}")
    if origin in (tuple, list):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            value = [value]  # a scalar override means a one-element axis
        (item_type, *_) = typing.get_args(tp)
        return tuple(_coerce(v, item_type, f"{field}[{i}]") for i, v in enumerate(value))
    if tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif dataclasses.is_dataclass(tp):
        return parse(tp, value, field)
    else:
        raise TypeError(f"unsupported schema type {tp} for {field}")
    raise ConfigError(f"{field}: expected {_type_name(tp)}, got {value!r}")


def parse(schema: type, data: Any, path: str) -> Any:
    """Build `schema` (a dataclass) from a mapping, rejecting unknown keys and wrong types."""
    if not isinstance(data, typing.Mapping):
        raise ConfigError(f"{path or 'config'}: expected a mapping of fields, got {data!r}")
    hints = typing.get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema) if f.init}
    prefix = f"{path}." if path else ""
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown field (allowed: {', '.join(fields)})")
    values = {}
    for name, field in fields.items():
        if name in data:
            values[name] = _coerce(data[name], hints[name], f"{prefix}{name}")
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{prefix}{name}: missing required field")
    config = schema(**values)
    validate = getattr(config, "validate", None)
    if validate is not None:
        validate(path)
    return config


def positive(config: Any, path: str, *names: str) -> None:
    """Require the named numeric fields of `config` to be > 0."""
    for name in names:
        value = getattr(config, name)
        require(value > 0 and math.isfinite(value), f"{path}.{name}", f"must be > 0, got {value}")


def plain(value: Any) -> Any:
    """Plain nested values of a parsed config (tuples become lists, inf a string), for hashing and logs."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return value


def to_dict(config: Any) -> dict:
    """Plain nested dict of a parsed config (see `plain`)."""
    return plain(dataclasses.asdict(config))
