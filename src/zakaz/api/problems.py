"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from zakaz.errors import DomainError, FieldError, ValidationFailed

PROBLEM_TYPES: dict[str, tuple[int, str, str]] = {
    # kind: (status, title, what to do)
    "validation-error": (
        422,
        "Your request has invalid fields",
        "Fix the fields listed in errors and send again.",
    ),
    "malformed-request": (400, "The request body is not valid JSON", "Send a JSON object."),
    "not-found": (404, "Not found", "Check the id or number; it may belong to another account."),
    "conflict": (409, "Conflict with the current state", "Reload the resource and try again."),
    "invalid-transition": (409, "This action is not allowed in the order's status", "Use one of allowed."),
    "idempotency-key-reused": (409, "Idempotency-Key reused with a different request", "Use a new key."),
    "insufficient-stock": (409, "Not enough stock", "Adjust the quantity or the stock."),
    "unauthorized": (401, "Authentication required", "Send Authorization: Bearer <api key>."),
    "forbidden": (403, "Your role may not do this", "Ask an admin for a key with the right role."),
    "method-not-allowed": (405, "Method not allowed", "See /docs for the methods of this path."),
    "too-large": (413, "Request too large", "Send a smaller body."),
    "internal-error": (500, "Internal error", "Retry later; the error was logged."),
}


def problem(
    kind: str, *, detail: str, instance: str | None = None, status: int | None = None, **extra: Any
) -> Response:
    default_status, title, hint = PROBLEM_TYPES.get(kind, (400, kind.replace("-", " ").capitalize(), ""))
    body: dict[str, Any] = {
        "type": f"/problems/{kind}",
        "title": title,
        "status": status or default_status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if hint:
        body["hint"] = hint
    body.update({k: v for k, v in extra.items() if k not in body})
    headers = {"WWW-Authenticate": "Bearer"} if body["status"] == 401 else None
    return Response(
        orjson.dumps(body), status_code=body["status"], media_type="application/problem+json", headers=headers
    )


def _field_path(loc: Sequence[Any]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


def field_errors(errors: Sequence[FieldError]) -> list[dict[str, str]]:
    return [{"field": e.field, "code": e.code, "message": e.message} for e in errors]


def install(app: FastAPI) -> None:
    @app.exception_handler(ValidationFailed)
    async def _validation_failed(request: Request, exc: ValidationFailed) -> Response:
        return problem(
            "validation-error", detail=exc.detail, instance=request.url.path, errors=field_errors(exc.errors)
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return problem(exc.kind, detail=exc.detail, instance=request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                return problem("malformed-request", detail=str(err.get("msg")), instance=request.url.path)
            errors.append(
                FieldError(_field_path(err.get("loc", ())), str(err.get("type")), str(err.get("msg")))
            )
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem(
            "validation-error", detail=detail, instance=request.url.path, errors=field_errors(errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        kind = {
            400: "malformed-request",  # e.g. FastAPI's "error parsing the body" (JSON nested too deep)
            401: "unauthorized",
            403: "forbidden",
            404: "not-found",
            405: "method-not-allowed",
            413: "too-large",
        }
        return problem(
            kind.get(exc.status_code, "conflict"),
            detail=str(exc.detail),
            instance=request.url.path,
            status=exc.status_code,
        )
