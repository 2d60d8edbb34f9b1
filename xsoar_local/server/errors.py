"""The errors the server answers with, in the body shape an XSOAR server uses."""

from __future__ import annotations

from typing import Any

from xsoar_local.errors import UsageError, XsoarLocalError, http_status
from xsoar_local.redact import mask


class ServerError(UsageError):
    """A request the server refuses; `body()` is what the client receives with `status`."""

    def __init__(self, status: int, error_id: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error_id = error_id
        self.title = title
        self.detail = detail

    def body(self) -> dict[str, Any]:
        """`{id, status, title, detail, error, encrypted, multires}` as an XSOAR server sends it."""
        return {
            "id": self.error_id,
            "status": self.status,
            "title": self.title,
            "detail": mask(self.detail),
            "error": mask(self.detail),
            "encrypted": False,
            "multires": None,
        }


def bad_request(detail: str, error_id: str = "errBadRequest", title: str = "Bad request") -> ServerError:
    """400: the body names what to change."""
    return ServerError(400, error_id, title, detail)


def not_found(detail: str, error_id: str = "errNotFound", title: str = "Not found") -> ServerError:
    """404."""
    return ServerError(404, error_id, title, detail)


def as_server_error(error: XsoarLocalError) -> ServerError:
    """The answer to any toolkit error, in the server's error shape (a refusal keeps its own status and id)."""
    if isinstance(error, ServerError):
        return error
    category = error.category.value
    return ServerError(http_status(error), f"err{category.title()}", f"{category.title()} error", str(error))
