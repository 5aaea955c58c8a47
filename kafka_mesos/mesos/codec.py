"""Encode and decode Mesos v1 messages as protobuf or as Mesos' JSON.

Mesos' JSON mapping is not protobuf's canonical JSON mapping:

* keys are the exact ``.proto`` field names (snake_case); unknown keys are ignored, so
  camelCase keys silently vanish;
* enums are value names; an unknown name is dropped from an optional field and an
  error in a required one;
* ``bytes`` are standard base64 with padding;
* 64-bit integers are JSON numbers (numeric strings are accepted on input);
* doubles accept ``"Infinity"``/``"-Infinity"``/``"NaN"`` strings and emit bare tokens;
* ``null`` means unset; empty repeated fields are omitted; maps are JSON objects;
* Mesos' own output also carries every unset optional field that has a declared
  default (``failover_timeout: 0``, ``shell: true``, ``refuse_seconds: 5`` …) unless
  the field is deprecated: ``emit_defaults=True`` reproduces that.

Only the standard library and protobuf are used: the executor's zipapp imports this.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any, TypeVar

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError as _PbDecodeError
from google.protobuf.message import Message

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
CONTENT_TYPES = (PROTOBUF, JSON)

M = TypeVar("M", bound=Message)
# Descriptors come from the upb or the pure-Python backend; both have the same attributes but
# different static types, so descriptor values are typed as Any here.
Field = Any

_INT_TYPES = frozenset(
    {
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    }
)
_INT_RANGES = {
    FieldDescriptor.CPPTYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.CPPTYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.CPPTYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.CPPTYPE_UINT64: (0, 2**64 - 1),
}
_FLOAT_TYPES = frozenset({FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT})
_SPECIAL_FLOATS = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


class CodecError(ValueError):
    """A body could not be decoded (or a content type is not supported)."""


class UnsupportedContentType(CodecError):
    """Neither ``application/x-protobuf`` nor ``application/json`` (byte for byte)."""


def check_content_type(content_type: str) -> str:
    """Return ``content_type`` if it is exactly one of Mesos' two types, else raise."""
    if content_type not in CONTENT_TYPES:
        raise UnsupportedContentType(
            f"Expecting 'Content-Type' of {JSON} or {PROTOBUF}, got {content_type!r}"
        )
    return content_type


# ---------------------------------------------------------------- encoding


def encode(msg: Message, content_type: str, *, emit_defaults: bool = False) -> bytes:
    """Serialize ``msg``; protobuf raises ``EncodeError`` if a required field is missing."""
    if check_content_type(content_type) == PROTOBUF:
        return msg.SerializeToString()
    return json_dumps(message_to_dict(msg, emit_defaults=emit_defaults)).encode()


def json_dumps(obj: Any) -> str:
    """Compact JSON; non-finite doubles become the bare ``Infinity``/``NaN`` tokens like Mesos."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=True)


def message_to_dict(msg: Message, *, emit_defaults: bool = False) -> dict[str, Any]:
    """Mesos' JSON object for ``msg``."""
    out: dict[str, Any] = {}
    for pb_field, value in msg.ListFields():  # set singular fields and non-empty repeated ones
        field: Field = pb_field
        kind = _kind(field)
        if kind == _MAP:
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {
                str(k): _value_to_json(value_field, v, emit_defaults) for k, v in value.items()
            }
        elif field.is_repeated:
            if kind == _MESSAGE:
                out[field.name] = [message_to_dict(v, emit_defaults=emit_defaults) for v in value]
            else:
                out[field.name] = [_value_to_json(field, v, emit_defaults) for v in value]
        elif kind == _MESSAGE:
            out[field.name] = message_to_dict(value, emit_defaults=emit_defaults)
        else:
            out[field.name] = _value_to_json(field, value, emit_defaults)
    if emit_defaults:
        for field in _emitted_defaults(msg.DESCRIPTOR):
            if field.name not in out:
                out[field.name] = _value_to_json(field, field.default_value, emit_defaults)
    return out


_MESSAGE, _MAP, _ENUM, _BYTES, _PLAIN = range(5)
_KINDS: dict[str, int] = {}
_DEFAULTS: dict[str, tuple[Field, ...]] = {}


def _kind(field: Field) -> int:
    kind = _KINDS.get(field.full_name)
    if kind is None:
        if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
            kind = _MAP if field.message_type.GetOptions().map_entry else _MESSAGE
        elif field.cpp_type == FieldDescriptor.CPPTYPE_ENUM:
            kind = _ENUM
        elif field.type == FieldDescriptor.TYPE_BYTES:
            kind = _BYTES
        else:
            kind = _PLAIN
        _KINDS[field.full_name] = kind
    return kind


def _emitted_defaults(descriptor: Any) -> tuple[Field, ...]:
    """Singular fields with a declared default that Mesos' JSON prints when unset."""
    fields = _DEFAULTS.get(descriptor.full_name)
    if fields is None:
        fields = tuple(
            f
            for f in descriptor.fields
            if not f.is_repeated and f.has_default_value and not f.GetOptions().deprecated
        )
        _DEFAULTS[descriptor.full_name] = fields
    return fields


def _is_map(field: Field) -> bool:
    return _kind(field) == _MAP


def _value_to_json(field: Field, value: Any, emit_defaults: bool) -> Any:
    kind = _kind(field)
    if kind == _MESSAGE:
        return message_to_dict(value, emit_defaults=emit_defaults)
    if kind == _ENUM:
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else value
    if kind == _BYTES:
        return base64.b64encode(value).decode("ascii")
    return value


# ---------------------------------------------------------------- decoding


def decode(data: bytes, content_type: str, cls: type[M], *, require_initialized: bool = False) -> M:
    """Parse ``data`` as ``cls``. With ``require_initialized`` a missing required field is an
    error, as in Mesos' own parsing (use it on the server side)."""
    msg = cls()
    if check_content_type(content_type) == PROTOBUF:
        try:
            msg.ParseFromString(data)
        except _PbDecodeError as exc:
            raise CodecError(f"Failed to parse body into {cls.DESCRIPTOR.name}: {exc}") from exc
    else:
        try:
            obj = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            raise CodecError(f"Failed to parse body into JSON: {exc}") from exc
        dict_to_message(obj, msg)
    if require_initialized:
        missing: list[str] = msg.FindInitializationErrors()  # type: ignore[attr-defined]
        if missing:
            raise CodecError(
                f"Failed to parse body into {cls.DESCRIPTOR.name}: missing required fields "
                + ", ".join(missing)
            )
    return msg


def dict_to_message(obj: Any, msg_or_cls: M | type[M]) -> M:
    """Fill a message (or a new instance of a class) from Mesos' JSON object."""
    msg = msg_or_cls() if isinstance(msg_or_cls, type) else msg_or_cls
    _fill(obj, msg, msg.DESCRIPTOR.full_name)
    return msg


def _fill(obj: Any, msg: Message, path: str) -> None:
    if not isinstance(obj, Mapping):
        raise CodecError(f"{path}: expected a JSON object")
    descriptor: Any = msg.DESCRIPTOR
    for key, raw in obj.items():
        field = descriptor.fields_by_name.get(key)
        if field is None or raw is None:
            continue  # unknown keys are ignored, null is unset
        where = f"{path}.{key}"
        if _is_map(field):
            _fill_map(raw, msg, field, where)
        elif field.is_repeated:
            if not isinstance(raw, list):
                raise CodecError(f"{where}: expected a JSON array")
            container = getattr(msg, field.name)
            for i, item in enumerate(raw):
                if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
                    _fill(item, container.add(), f"{where}[{i}]")
                else:
                    value = _scalar(field, item, f"{where}[{i}]")
                    if value is not _SKIP:
                        container.append(value)
        elif field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
            sub = getattr(msg, field.name)
            sub.SetInParent()
            _fill(raw, sub, where)
        else:
            value = _scalar(field, raw, where)
            if value is not _SKIP:
                setattr(msg, field.name, value)


def _fill_map(raw: Any, msg: Message, field: Field, where: str) -> None:
    if not isinstance(raw, Mapping):
        raise CodecError(f"{where}: expected a JSON object")
    key_field = field.message_type.fields_by_name["key"]
    value_field = field.message_type.fields_by_name["value"]
    container = getattr(msg, field.name)
    for k, v in raw.items():
        key = _scalar(key_field, k, f"{where}.{k}") if key_field.type != FieldDescriptor.TYPE_STRING else k
        if value_field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
            _fill(v, container[key], f"{where}.{k}")
        else:
            value = _scalar(value_field, v, f"{where}.{k}")
            if value is not _SKIP:
                container[key] = value


class _Skip:
    pass


_SKIP: Any = _Skip()


def _scalar(field: Field, raw: Any, where: str) -> Any:
    cpp = field.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        if not isinstance(raw, str):
            raise CodecError(f"{where}: expected an enum name")
        enum_value = field.enum_type.values_by_name.get(raw)
        if enum_value is None:
            if field.is_required:
                raise CodecError(f"{where}: unknown enum value {raw!r}")
            return _SKIP  # Mesos drops unknown enum names in optional/repeated fields
        return enum_value.number
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        if not isinstance(raw, bool):
            raise CodecError(f"{where}: expected a boolean")
        return raw
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        if not isinstance(raw, str):
            raise CodecError(f"{where}: expected a string")
        if field.type == FieldDescriptor.TYPE_BYTES:
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CodecError(f"{where}: invalid base64: {exc}") from exc
        return raw
    if cpp in _INT_TYPES:
        return _integer(cpp, raw, where)
    if cpp in _FLOAT_TYPES:
        return _floating(raw, where)
    raise CodecError(f"{where}: unsupported field type")  # pragma: no cover


def _integer(cpp: int, raw: Any, where: str) -> int:
    if isinstance(raw, bool):
        raise CodecError(f"{where}: expected an integer")
    value: int
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str):
        try:
            value = int(raw.strip())
        except ValueError as exc:
            raise CodecError(f"{where}: expected an integer, got {raw!r}") from exc
    else:
        raise CodecError(f"{where}: expected an integer")
    low, high = _INT_RANGES[cpp]
    if not low <= value <= high:
        raise CodecError(f"{where}: integer {value} out of range")
    return value


def _floating(raw: Any, where: str) -> float:
    if isinstance(raw, bool):
        raise CodecError(f"{where}: expected a number")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        if raw in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[raw]
        try:
            return float(raw)
        except ValueError as exc:
            raise CodecError(f"{where}: expected a number, got {raw!r}") from exc
    raise CodecError(f"{where}: expected a number")
