"""Errors the API answers with: a status code and a JSON body naming the offending field."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the API refuses. Rendered as `{"code": status, "error": message, "field": field}`."""

    def __init__(self, message: str, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status

    def to_json(self) -> dict[str, Any]:
        return {"code": self.status, "error": self.message, "field": self.field}


def not_found(message: str, field: str | None = None) -> ApiError:
    return ApiError(message, field, status=404)


def conflict(message: str, field: str | None = None) -> ApiError:
    return ApiError(message, field, status=409)


def not_implemented(message: str) -> ApiError:
    return ApiError(message, None, status=501)
