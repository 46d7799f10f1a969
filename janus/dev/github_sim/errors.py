"""GitHub's error responses: status, ``message``, optional ``errors``, ``documentation_url``."""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    """Raised anywhere in the simulator; the HTTP layer turns it into GitHub's error body."""

    def __init__(
        self, status: int, message: str, errors: list[Any] | None = None, doc: str = DOCS
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors
        self.doc = doc

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "documentation_url": self.doc}
        if self.errors is not None:
            body["errors"] = self.errors
        body["status"] = str(self.status)
        return body


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(resource: str, code: str, field: str, message: str | None = None) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code, "field": field}
    if message:
        error["message"] = message
    return ApiError(422, "Validation Failed", [error])


def unprocessable(*messages: str) -> ApiError:
    """The 422 shape whose ``errors`` are bare strings (e.g. approving one's own PR)."""
    return ApiError(422, "Unprocessable Entity", list(messages))
