"""Errors raised by core's parsers and validators; both name the offending field."""

from __future__ import annotations

MAX_SHOWN = 80  # longest offending text quoted back in a message


class ValidationError(ValueError):
    """A value given for ``field`` is not acceptable."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message


class ParseError(ValidationError):
    """``text`` given for ``field`` could not be parsed."""

    def __init__(self, field: str, text: str, message: str) -> None:
        shown = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."
        super().__init__(field, f"invalid {field} {shown!r}: {message}")
        self.text = text
        self.reason = message
