"""The REST API: /api/v1/, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import APIKeyCookie, HttpBearer
from ninja.security import django_auth as session_auth

from navid.accounts.services import api_key_authenticate
from navid.campaigns.api import router as campaigns_router
from navid.campaigns.workflow import MakerCannotCheck
from navid.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from navid.customers.api import router as customers_router
from navid.interactions.api import router as interactions_router
from navid.loyalty.api import router as loyalty_router
from navid.offers.api import router as offers_router
from navid.sales.api import router as sales_router
from navid.segments.api import router as segments_router
from navid.surveys.api import router as surveys_router
from navid.telemarketing.api import router as telemarketing_router


class BearerKey(HttpBearer):
    """`Authorization: Bearer <key>` with a key from `navid manage create_api_key USERNAME`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_key_authenticate(key=token)
        if user is not None:
            request.user = user
        return user


auth: list[APIKeyCookie | HttpBearer] = [BearerKey(), session_auth]

api = NinjaAPI(
    title="Navid API",
    version="1",
    description=(
        "Customers, prospects, imports, interactions, segments, campaigns and the bank's lists. "
        "Authenticate with a session or a Bearer key."
    ),
    urls_namespace="api-v1",
    auth=auth,
)
api.add_router("/", customers_router)
api.add_router("/", interactions_router)
api.add_router("/", segments_router)
api.add_router("/", offers_router)
api.add_router("/", campaigns_router)
api.add_router("/", sales_router)
api.add_router("/", loyalty_router)
api.add_router("/", telemarketing_router)
api.add_router("/", surveys_router)


@api.exception_handler(ValidationFailed)
def _validation_failed(request: HttpRequest, exc: ValidationFailed) -> HttpResponse:
    detail = [
        {"loc": ["body", field], "field": field, "msg": reason, "type": "value_error"}
        for field, reasons in exc.errors.items()
        for reason in reasons
    ]
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(NotFound)
def _not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": f"You do not have the permission {exc}."}, status=403)


@api.exception_handler(MakerCannotCheck)
def _maker_cannot_check(request: HttpRequest, exc: MakerCannotCheck) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=403)


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=409)
