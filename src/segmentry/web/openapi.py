"""The error answers in the OpenAPI document: every operation lists each status it can answer,
all with the one error shape (:class:`~segmentry.web.schemas.ErrorBody`).

A route declares the errors of its own work (``responses={404: …}``); those its dependencies
cause are added here, so no route can forget them:

- signing in (``require_user``): ``401``, and ``403`` (CSRF) for methods that change something;
- any path, query, header, cookie or body parameter: ``422`` (``bad_parameter``).

>>> sorted(STATUS_TEXT)[:3]
[400, 401, 403]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from segmentry.web.deps import require_user
from segmentry.web.schemas import ErrorBody

__all__ = ["STATUS_TEXT", "document_errors", "error_statuses"]

STATUS_TEXT = {
    400: "The request cannot be done as asked (an invalid query, a bad name or day)",
    401: "Not signed in: send `Authorization: Bearer <API token>` or sign in",
    403: "A change made with a session lacks the session's CSRF token",
    404: "Not found",
    409: "Conflicts with the current state (a duplicate, in use, busy or not computed)",
    422: "A parameter or the body is not valid (`bad_parameter`, with `details`)",
}
_SAFE = {"GET", "HEAD", "OPTIONS"}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def error_statuses(route: APIRoute | RouteContext) -> set[int]:
    """The 4xx statuses ``route`` can answer: its own declared ones and its dependencies'."""
    statuses = {int(s) for s in route.responses if str(s).isdigit() and int(s) >= 400}
    dependants = list(_dependants(route.dependant))
    if any(d.call is require_user.dependency for d in dependants):
        statuses.add(401)
        if set(route.methods or ()) - _SAFE:
            statuses.add(403)
    if any(d.path_params or d.query_params or d.header_params or d.cookie_params
           or d.body_params for d in dependants):
        statuses.add(422)
    return statuses


def _signed_in(route: APIRoute | RouteContext) -> bool:
    return any(d.call is require_user.dependency for d in _dependants(route.dependant))


def _add_errors(schema: dict[str, Any], routes: list[Any]) -> None:
    components = schema.setdefault("components", {})
    models = components.setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    models.update(body.pop("$defs", {}))
    models["ErrorBody"] = body
    components.setdefault("securitySchemes", {})["token"] = {
        "type": "http", "scheme": "bearer",
        "description": "An API token (`segmentry tokens create EMAIL` or the Settings page).",
    }
    # NOTE: routes of included routers are read through their contexts, which carry the
    # router's dependencies (``require_user``) as the OpenAPI generator sees them.
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            answers = operation.setdefault("responses", {})
            for status in sorted(error_statuses(route)):
                described = answers.get(str(status), {}).get("description", "")
                answers[str(status)] = {
                    "description": described if described not in ("", "Additional Response")
                    else STATUS_TEXT.get(status, "Error"),
                    "content": {"application/json": {"schema": _ERROR_REF}},
                }
            if _signed_in(route):
                operation["security"] = [{"token": []}]
    # FastAPI's own 422 shape is never sent (every error is an ErrorBody): drop it if unused.
    used = json.dumps(schema["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}\"" not in used:
            models.pop(name, None)


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` list every error status of every operation (see the module)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _add_errors(generate(), app.routes)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
