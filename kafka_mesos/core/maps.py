"""Maps in mesos/kafka's syntax: ``k=v,k2=v2``; ``\\`` escapes the next character.

Keys and values are trimmed. An entry without ``=`` is a key with no value (``None``): in broker
options that removes the key from the distribution's ``server.properties``.
"""

from __future__ import annotations

from collections.abc import Mapping

from kafka_mesos.core.errors import ParseError

OptionMap = dict[str, str | None]


def _split_unescaped(text: str, separator: str, field: str, whole: str) -> list[tuple[str, bool]]:
    """Split on unescaped ``separator``; each part is (raw text with escapes kept, had escapes)."""
    parts: list[tuple[str, bool]] = []
    current: list[str] = []
    escaped_any = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            if index + 1 >= len(text):
                raise ParseError(field, whole, "open escaping: a trailing '\\' escapes nothing")
            current.append(text[index:index + 2])
            escaped_any = True
            index += 2
            continue
        if char == separator:
            parts.append(("".join(current), escaped_any))
            current, escaped_any = [], False
        else:
            current.append(char)
        index += 1
    parts.append(("".join(current), escaped_any))
    return parts


def _unescape(raw: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(raw):
        if raw[index] == "\\" and index + 1 < len(raw):
            out.append(raw[index + 1])
            index += 2
        else:
            out.append(raw[index])
            index += 1
    return "".join(out)


def _trim_unescaped(raw: str) -> str:
    """Trim whitespace that is not escaped (an escaped trailing space survives)."""
    start = 0
    while start < len(raw) and raw[start].isspace():
        start += 1
    end = len(raw)
    while end > start and raw[end - 1].isspace() and not _is_escaped(raw, end - 1):
        end -= 1
    return raw[start:end]


def _is_escaped(raw: str, position: int) -> bool:
    backslashes = 0
    index = position - 1
    while index >= 0 and raw[index] == "\\":
        backslashes += 1
        index -= 1
    return backslashes % 2 == 1


def parse_map(text: str, field: str = "map", *, allow_null_values: bool = True) -> OptionMap:
    """Parse ``k=v,k2=v2``. ``""`` is the empty map. Duplicate keys: the last one wins."""
    result: OptionMap = {}
    if not text.strip():
        return result
    for raw_entry, _ in _split_unescaped(text, ",", field, text):
        if not raw_entry.strip():
            raise ParseError(field, text, "empty entry (two commas in a row, or a trailing comma)")
        pieces = _split_unescaped(raw_entry, "=", field, text)
        raw_key = pieces[0][0]
        key = _unescape(_trim_unescaped(raw_key))
        if not key:
            raise ParseError(field, text, f"entry {raw_entry.strip()!r} has an empty key")
        if len(pieces) == 1:
            if not allow_null_values:
                raise ParseError(field, text, f"entry {raw_entry.strip()!r} has no '=value'")
            result[key] = None
            continue
        raw_value = "=".join(piece for piece, _ in pieces[1:])
        result[key] = _unescape(_trim_unescaped(raw_value))
    return result


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _escape_edges(text: str) -> str:
    """Escape as :func:`escape`, plus leading/trailing whitespace so trimming on parse keeps it."""
    if ("\\" not in text and "," not in text and "=" not in text
            and not text[:1].isspace() and not text[-1:].isspace()):
        return text  # the common case, and `broker list` formats thousands of these
    last = len(text) - 1
    out = []
    for index, char in enumerate(text):
        if char in "\\,=" or (char.isspace() and index in (0, last)):
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def format_map(values: Mapping[str, str | None]) -> str:
    """Inverse of :func:`parse_map`: ``parse_map(format_map(m)) == m``."""
    entries = []
    for key, value in values.items():
        entry = _escape_edges(key)
        if value is not None:
            entry += "=" + _escape_edges(value)
        entries.append(entry)
    return ",".join(entries)
