"""A contact-policy service: relcore's guard behind a small JSON API (FastAPI).

    pip install 'relcore[service]'
    RELCORE_POLICY=examples/contact_policy.toml RELCORE_LEDGER=contacts.db \\
        uvicorn --factory app:create_app --app-dir examples/service --workers 2

Configuration, from the environment:

``RELCORE_POLICY``
    The policy file (TOML).
``RELCORE_LEDGER``
    Where contacts, reservations, preferences and the audit trail are kept: a SQLite file
    (every worker process on this host shares it), or a ``postgresql://`` connection
    string (every host shares it; needs relcore's PostgreSQL ledger and the ``postgres``
    extra).
``RELCORE_AUDIT``
    ``1`` (the default) keeps an audit record of every decision; ``0`` does not.

Endpoints (every body and answer is JSON; contacts, preferences and decisions are the
``to_dict()`` forms of relcore's values, instants ISO 8601 with their offsets):

``POST /check``       ``{"contact": {...}, "preferences": {...}?}`` -> a decision
``POST /request``     ``{"contact", "preferences"?, "key"?}`` -> a decision; recorded if allowed
``POST /reserve``     ``{"contact", "key", "ttl_seconds"?, "preferences"?}`` -> a decision
                      and ``held_until``
``POST /confirm``     ``{"key"}`` -> the decision of the contact recorded
``POST /release``     ``{"key"}`` -> ``{"key", "released"}``
``POST /responses``   ``{"customer_id", "at", "kind", "channel"?, "category"?, "campaign"?}``
                      records what the customer did (an ``unsubscribe`` opts them out)
``GET/PUT/DELETE /preferences/{customer_id}``   the customer's stored preferences
``GET /audit?customer_id=&since=&until=``       audit records
``GET /health``       the policy's name and content hash

A bad request answers 422 naming the offending key; a key used wrongly (another contact
under it, confirming what is not held, releasing what was sent) 409; a store that fails
503. Nothing is ever half-done: every call is one transaction of the ledger.
"""

from __future__ import annotations

import datetime as _dt
import os
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from relcore import DataError, LedgerError, PolicyError, ReservationError
from relcore.contact_policy import Contact, ContactGuard, Ledger, Policy, SQLiteLedger
from relcore.models import ContactPreferences

DEFAULT_TTL_SECONDS = 300
JSONBody = Annotated[dict[str, Any], Body()]  # read by relcore's own from_dict, strictly


def open_ledger(where: str) -> Ledger:
    """The ledger named by configuration: a SQLite file, or a PostgreSQL dsn."""
    if where.startswith(("postgresql://", "postgres://")):
        from relcore import contact_policy

        postgres = getattr(contact_policy, "PostgresLedger", None)  # imported lazily
        if postgres is None:
            raise RuntimeError("this relcore has no PostgreSQL ledger; use a SQLite file")
        ledger: Ledger = postgres(where)
        return ledger
    return SQLiteLedger(where)


def create_app(
    policy: Policy | None = None, ledger: Ledger | None = None, *, audit: bool | None = None
) -> FastAPI:
    """The service; what is not given is read from the environment (see the module)."""
    if policy is None:
        policy = Policy.from_toml(os.environ["RELCORE_POLICY"])
    if ledger is None:
        ledger = open_ledger(os.environ["RELCORE_LEDGER"])
    if audit is None:
        audit = os.environ.get("RELCORE_AUDIT", "1") != "0"
    guard = ContactGuard(policy, ledger, audit=audit)
    store = ledger

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        yield
        store.close()

    app = FastAPI(title="relcore contact policy", lifespan=lifespan)

    # ------------------------------------------------------------------ errors

    @app.exception_handler(DataError)
    async def bad_data(_request: Request, exc: DataError) -> JSONResponse:
        return _error(422, "bad_request", str(exc), key=exc.column)

    @app.exception_handler(PolicyError)
    async def bad_rule(_request: Request, exc: PolicyError) -> JSONResponse:
        return _error(422, "bad_request", str(exc), key=exc.path)

    @app.exception_handler(ReservationError)
    async def key_conflict(_request: Request, exc: ReservationError) -> JSONResponse:
        return _error(409, "reservation", str(exc), key=exc.key)

    @app.exception_handler(LedgerError)
    async def store_failed(_request: Request, exc: LedgerError) -> JSONResponse:
        return _error(503, "ledger", str(exc))

    # ------------------------------------------------------------------ decisions

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "policy": policy.name, "policy_hash": policy.content_hash}

    @app.post("/check")
    def check(body: JSONBody) -> dict[str, Any]:
        contact, prefs = _contact_and_preferences(body, ("contact", "preferences"))
        return guard.check(contact, prefs).to_dict()

    @app.post("/request")
    def request(body: JSONBody) -> dict[str, Any]:
        contact, prefs = _contact_and_preferences(body, ("contact", "preferences", "key"))
        key = _optional_str(body, "key")
        return guard.request(contact, prefs, key=key).to_dict()

    @app.post("/reserve")
    def reserve(body: JSONBody) -> dict[str, Any]:
        contact, prefs = _contact_and_preferences(
            body, ("contact", "preferences", "key", "ttl_seconds")
        )
        key = _required_str(body, "key")
        seconds = body.get("ttl_seconds", DEFAULT_TTL_SECONDS)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            raise DataError("ttl_seconds", f"must be a positive number, got {seconds!r}")
        ttl = _dt.timedelta(seconds=seconds)
        decision = guard.reserve(contact, prefs, key=key, ttl=ttl)
        held = store.keyed(key) if decision.allowed else None
        until = None if held is None or held.held_until is None else held.held_until
        return {
            **decision.to_dict(),
            "key": key,
            "held_until": None if until is None else _iso(until),
        }

    @app.post("/confirm")
    def confirm(body: JSONBody) -> dict[str, Any]:
        _only(body, ("key",))
        return guard.confirm(_required_str(body, "key")).to_dict()

    @app.post("/release")
    def release(body: JSONBody) -> dict[str, Any]:
        _only(body, ("key",))
        key = _required_str(body, "key")
        return {"key": key, "released": guard.release(key)}

    @app.post("/responses", status_code=204)
    def responses(body: JSONBody) -> Response:
        _only(body, ("customer_id", "at", "kind", "channel", "category", "campaign"))
        at = _instant(_required_str(body, "at"), "at")
        assert at is not None
        guard.record_response(
            _required_str(body, "customer_id"),
            at,
            _required_str(body, "kind"),
            channel=_optional_str(body, "channel"),
            category=_optional_str(body, "category"),
            campaign=_optional_str(body, "campaign"),
        )
        return Response(status_code=204)

    # ------------------------------------------------------------------ preferences

    @app.get("/preferences/{customer_id}")
    def get_preferences(customer_id: str) -> Any:
        prefs = store.get_preferences(customer_id)
        if prefs is None:
            return _error(404, "not_found", f"no preferences stored for {customer_id!r}")
        return prefs.to_dict()

    @app.put("/preferences/{customer_id}")
    def put_preferences(customer_id: str, body: JSONBody) -> dict[str, Any]:
        prefs = ContactPreferences.from_dict(body)
        store.set_preferences(customer_id, prefs)
        return prefs.to_dict()

    @app.delete("/preferences/{customer_id}", status_code=204)
    def delete_preferences(customer_id: str) -> Response:
        store.set_preferences(customer_id, None)
        return Response(status_code=204)

    # ------------------------------------------------------------------ audit

    @app.get("/audit")
    def audit_trail(
        customer_id: str | None = None, since: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        records = store.decisions(
            customer_id=customer_id,
            since=_instant(since, "since"),
            until=_instant(until, "until"),
        )
        return [r.to_dict() for r in records]

    return app


# ---------------------------------------------------------------------- reading bodies


def _only(body: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in body:
        if key not in keys:
            raise DataError(key, f"is not a key of this request; known: {', '.join(keys)}")


def _contact_and_preferences(
    body: dict[str, Any], keys: tuple[str, ...]
) -> tuple[Contact, ContactPreferences | None]:
    _only(body, keys)
    if "contact" not in body:
        raise DataError("contact", "is required")
    contact = Contact.from_dict(body["contact"], "contact")
    raw = body.get("preferences")
    prefs = None if raw is None else ContactPreferences.from_dict(raw, "preferences")
    return contact, prefs


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise DataError(key, f"must be a non-empty string, got {value!r}")
    return value


def _required_str(body: dict[str, Any], key: str) -> str:
    value = _optional_str(body, key)
    if value is None:
        raise DataError(key, "is required")
    return value


def _instant(text: str | None, name: str) -> _dt.datetime | None:
    if text is None:
        return None
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError(
            name, f"must be an ISO 8601 datetime with an offset, got {text!r}"
        ) from None
    if value.tzinfo is None:
        raise DataError(name, f"has no UTC offset: {text!r}")
    return value


def _iso(us: int) -> str:
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
    return (epoch + _dt.timedelta(microseconds=us)).isoformat()


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": kind, "message": message, **extra}, status_code=status)
