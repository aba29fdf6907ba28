"""Every error the HTTP API answers, in the shape of the surface it was asked on.

One mapping: an offpath error's kind gives the status (`errors.py`), the
path gives the body. The compute API answers Nova's fault bodies
(`{"itemNotFound": {"code": 404, "message": ...}}`), the network API
Neutron's (`{"NeutronError": {"type", "message", "detail"}}`), the image
API Glance's, and offpath's own paths `{"error": {"code", "message",
"hint"}}`. A schema violation or malformed JSON is a 400 with a message,
never FastAPI's 422; an error that is not offpath's is a 500 with no
traceback in the body.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from offpath.errors import OffpathError, RequestBodyInvalid

LOG = logging.getLogger(__name__)

# Nova's fault names by status; any other status is a computeFault.
NOVA_FAULT_NAMES: Final = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}
STATUS_TITLES: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
UNEXPECTED: Final = (
    "Unexpected API Error. The offpath API's log has the details; please report it "
    "with the request id."
)


class HttpFault(Exception):
    """An answer of HTTP itself (401, 406, a bad header), not of offpath's domain."""

    def __init__(self, status: int, message: str, *, error_type: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or STATUS_TITLES.get(status, "Error").replace(" ", "")


def nova_fault(status: int, message: str) -> dict[str, Any]:
    """Nova's fault body for `status`."""
    return {NOVA_FAULT_NAMES.get(status, "computeFault"): {"code": status, "message": message}}


def error_body(
    path: str, status: int, message: str, *, error_type: str, code: str = "", hint: str = ""
) -> dict[str, Any]:
    """The body of an error answered on `path`, in that surface's shape."""
    if path.startswith("/compute"):
        return nova_fault(status, message)
    if path.startswith("/network"):
        return {"NeutronError": {"type": error_type, "message": message, "detail": ""}}
    if path.startswith("/image"):
        title = STATUS_TITLES.get(status, "Error")
        return {"code": status, "title": title, "message": message}
    if path.startswith("/identity"):
        # Keystone's error body.
        title = STATUS_TITLES.get(status, "Error")
        return {"error": {"code": status, "title": title, "message": message}}
    body: dict[str, Any] = {"code": code or error_type, "message": message, "status": status}
    if hint:
        body["hint"] = hint
    return {"error": body}


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    error_type: str,
    code: str = "",
    hint: str = "",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON response of an error answered to `request`."""
    body = error_body(
        request.url.path, status, message, error_type=error_type, code=code, hint=hint
    )
    if status == 401:
        headers = {**(headers or {}), **keystone_challenge(request)}
    return JSONResponse(body, status_code=status, headers=headers)


def keystone_challenge(request: Request) -> dict[str, str]:
    """keystonemiddleware's header on every 401: where a token is to be had."""
    identity = f"{str(request.base_url).rstrip('/')}/identity"
    return {"WWW-Authenticate": f'Keystone uri="{identity}"'}


def offpath_error_response(request: Request, exc: OffpathError) -> JSONResponse:
    """The response for one of offpath's errors: its kind's status, its surface's body."""
    if exc.http_status >= 500:
        LOG.error("%s %s: %s [%s]", request.method, request.url.path, exc.message, exc.code)
    return error_response(
        request,
        exc.http_status,
        exc.message,
        error_type=type(exc).__name__,
        code=exc.code,
        hint=exc.hint,
    )


def validation_message(errors: Sequence[Any]) -> str:
    """One line saying what was wrong in a request, in Nova's wording where it has one."""
    if not errors:
        return "Invalid input for the request."
    first = errors[0]
    kind = str(first.get("type", ""))
    where = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    if kind in ("json_invalid", "json_type") or (
        not where and kind != "missing" and not isinstance(first.get("input"), dict)
    ):
        # A body that is not JSON at all, or JSON that is not an object.
        return "Malformed request body"
    field = where[-1] if where else "body"
    if kind == "missing":
        return f"Invalid input for field/attribute {field}. '{field}' is a required property"
    value = first.get("input")
    shown = repr(value) if len(repr(value)) <= 200 else repr(value)[:200] + "..."
    return f"Invalid input for field/attribute {field}. Value: {shown}. {first.get('msg', '')}"


def install_error_handlers(app: FastAPI) -> None:
    """Route every error `app` can raise through the one mapping."""

    async def on_offpath(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OffpathError)
        return offpath_error_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return offpath_error_response(
            request, RequestBodyInvalid(validation_message(list(exc.errors())))
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail) if exc.detail else STATUS_TITLES.get(exc.status_code, "Error")
        if exc.status_code == 404 and message == "Not Found":
            message = f"The resource could not be found: {request.url.path}"
        return error_response(
            request,
            exc.status_code,
            message,
            error_type=STATUS_TITLES.get(exc.status_code, "Error").replace(" ", ""),
            headers=dict(exc.headers or {}),
        )

    async def on_fault(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HttpFault)
        return error_response(request, exc.status, exc.message, error_type=exc.error_type)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        LOG.exception("%s %s failed", request.method, request.url.path)
        return error_response(request, 500, UNEXPECTED, error_type="InternalError")

    app.add_exception_handler(OffpathError, on_offpath)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(HttpFault, on_fault)
    app.add_exception_handler(Exception, on_unexpected)
