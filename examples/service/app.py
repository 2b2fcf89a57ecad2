"""A contact-policy service: relcore's guard behind a small JSON API (FastAPI).

    pip install 'relcore[service]'
    RELCORE_POLICY=examples/contact_policy.toml RELCORE_LEDGER=contacts.db \\
    RELCORE_API_KEY_DEFAULT="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')" \\
        uvicorn --factory app:create_app --app-dir examples/service --workers 2

Configuration, from the environment:

``RELCORE_POLICY``
    The policy file (TOML); ``RELCORE_POLICY_<TENANT>`` gives a tenant a policy of its own.
``RELCORE_LEDGER``
    Where contacts, reservations, preferences and the audit trail are kept: a SQLite file
    (every worker process on this host shares it), or a ``postgresql://`` connection
    string (every host shares it; needs relcore's PostgreSQL ledger and the ``postgres``
    extra). Every tenant has its own tables in it.
``RELCORE_TENANTS``
    The tenants (brands) served, comma-separated (``default`` when unset).
``RELCORE_API_KEY_<TENANT>``
    Each tenant's API key (at least 16 characters), e.g. ``RELCORE_API_KEY_DEFAULT``,
    ``RELCORE_API_KEY_BRAND_B`` for tenant ``brand-b`` (upper case, ``-`` as ``_``). The
    service does not start without a key for every tenant.
``RELCORE_MAX_BODY_BYTES``
    The largest request body accepted (65536 unless told); larger ones get 413.
``RELCORE_AUDIT``
    ``1`` (the default) keeps an audit record of every decision; ``0`` does not.

Security. Every endpoint but ``/health`` needs ``Authorization: Bearer <key>``: a missing
or unknown key gets 401, and a key for one tenant gets 403 on another's endpoints. The
presented key is compared with every tenant's key in constant time. Keys are read from the
environment only, never logged or echoed. The access log shows each request's route
(``/tenants/{tenant}/preferences/{customer_id}``), never its path or query: no customer id
reaches a log, and a failure inside the service is logged by its type alone (its message
may name a customer).

Endpoints, for the default tenant as below and for any tenant under
``/tenants/{tenant}`` (``/tenants/brand-b/request``). Every body and answer is JSON;
contacts, preferences and decisions are the ``to_dict()`` forms of relcore's values,
instants ISO 8601 with their offsets:

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
``GET /customers/{customer_id}/statement``      what the service holds on the customer
``DELETE /customers/{customer_id}``             erase the customer (their opt-outs stay)
``GET /health``       the policies' names and content hashes (no key needed)

A bad request answers 422 naming the offending key; a key used wrongly (another contact
under it, confirming what is not held, releasing what was sent) 409; a store that fails
503. Nothing is ever half-done: every call is one transaction of the ledger.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import attrs
from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from relcore import DataError, LedgerError, PolicyError, ReservationError
from relcore.contact_policy import (
    Contact,
    ContactGuard,
    Ledger,
    Policy,
    SQLiteLedger,
    customer_statement,
)
from relcore.models import ContactPreferences

DEFAULT_TTL_SECONDS = 300
DEFAULT_MAX_BODY_BYTES = 65_536
MIN_KEY_LENGTH = 16
JSONBody = Annotated[dict[str, Any], Body()]  # read by relcore's own from_dict, strictly
_log = logging.getLogger("relcore.service")


@attrs.frozen
class Tenant:
    """What one tenant's requests are served with."""

    name: str
    guard: ContactGuard
    ledger: Ledger


def env_name(tenant: str) -> str:
    """``brand-b`` -> ``BRAND_B``: how a tenant is spelt in environment variable names."""
    return tenant.upper().replace("-", "_")


def keys_from_environment(tenants: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """Each tenant's API key, from ``RELCORE_API_KEY_<TENANT>``; every tenant needs one."""
    spelt = [env_name(t) for t in tenants]
    if len(set(spelt)) != len(spelt):
        raise RuntimeError(f"RELCORE_TENANTS: two tenants share a variable name: {tenants}")
    keys = {}
    for tenant, name in zip(tenants, spelt, strict=True):
        key = environ.get(f"RELCORE_API_KEY_{name}", "")
        if len(key) < MIN_KEY_LENGTH:
            raise RuntimeError(
                f"RELCORE_API_KEY_{name}: tenant {tenant!r} needs an API key of at least "
                f"{MIN_KEY_LENGTH} characters"  # never the key itself
            )
        keys[tenant] = key
    return keys


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
    policy: Policy | None = None,
    ledger: Ledger | None = None,
    *,
    audit: bool | None = None,
    keys: Mapping[str, str] | None = None,
    policies: Mapping[str, Policy] | None = None,
    max_body_bytes: int | None = None,
) -> FastAPI:
    """The service; what is not given is read from the environment (see the module).

    ``keys`` maps each tenant to its API key; ``policies`` gives tenants policies of their
    own (the others use ``policy``).
    """
    environ = os.environ
    if keys is None:
        tenants = [t.strip() for t in environ.get("RELCORE_TENANTS", "default").split(",")]
        keys = keys_from_environment([t for t in tenants if t], environ)
    if not keys:
        raise RuntimeError("no tenant to serve")
    policies = dict(policies or {})
    for tenant in keys:
        own = environ.get(f"RELCORE_POLICY_{env_name(tenant)}")
        if tenant not in policies and own:
            policies[tenant] = Policy.from_toml(own)
    if policy is None and not all(t in policies for t in keys):
        policy = Policy.from_toml(environ["RELCORE_POLICY"])
    if ledger is None:
        ledger = open_ledger(environ["RELCORE_LEDGER"])
    if audit is None:
        audit = environ.get("RELCORE_AUDIT", "1") != "0"
    if max_body_bytes is None:
        max_body_bytes = int(environ.get("RELCORE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))
    base_ledger = ledger
    served: dict[str, Tenant] = {}
    for tenant in keys:
        mine = base_ledger if tenant == base_ledger_tenant(base_ledger) else None
        if mine is None:
            mine = base_ledger.for_tenant(tenant)  # type: ignore[attr-defined]
        chosen = policies.get(tenant, policy)
        assert chosen is not None
        served[tenant] = Tenant(tenant, ContactGuard(chosen, mine, audit=audit), mine)
    secrets = [(tenant, key.encode("utf-8")) for tenant, key in keys.items()]

    def authorized(request: Request) -> Tenant:
        """The tenant of the request, after its key: 401 without a valid key, 403 when the
        key is another tenant's."""
        header = request.headers.get("authorization", "")
        scheme, _, presented = header.partition(" ")
        given = presented.strip().encode("utf-8")
        owner = None
        for tenant, key in secrets:  # every key compared, in constant time
            if hmac.compare_digest(given, key) and scheme.lower() == "bearer":
                owner = tenant
        if owner is None:
            raise _RefusedError(401, "unauthorized", "a valid API key is required (Bearer)")
        wanted = request.path_params.get("tenant", "default")
        if wanted != owner or wanted not in served:
            raise _RefusedError(403, "forbidden", "this key is not allowed here")
        return served[wanted]

    # a default, not Annotated: annotations are strings here, read in the module's globals
    served_by = Depends(authorized)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        _quiet_access_log()
        yield
        for t in served.values():
            t.ledger.close()
        base_ledger.close()

    _quiet_access_log()
    app = FastAPI(title="relcore contact policy", lifespan=lifespan)
    app.add_middleware(_Guarded, limit=max_body_bytes)
    router = APIRouter()

    @app.exception_handler(_RefusedError)
    async def refused(_request: Request, exc: _RefusedError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        response = _error(exc.status, exc.kind, exc.message)
        if headers:
            response.headers.update(headers)
        return response

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
        first = served.get("default") or next(iter(served.values()))
        return {
            "ok": True,
            "policy": first.guard.policy.name,
            "policy_hash": first.guard.policy.content_hash,
        }

    @router.post("/check")
    def check(body: JSONBody, t: Tenant = served_by) -> dict[str, Any]:
        guard = t.guard
        contact, prefs = _contact_and_preferences(body, ("contact", "preferences"))
        return guard.check(contact, prefs).to_dict()

    @router.post("/request")
    def request(body: JSONBody, t: Tenant = served_by) -> dict[str, Any]:
        guard = t.guard
        contact, prefs = _contact_and_preferences(body, ("contact", "preferences", "key"))
        key = _optional_str(body, "key")
        return guard.request(contact, prefs, key=key).to_dict()

    @router.post("/reserve")
    def reserve(body: JSONBody, t: Tenant = served_by) -> dict[str, Any]:
        guard, store = t.guard, t.ledger
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

    @router.post("/confirm")
    def confirm(body: JSONBody, t: Tenant = served_by) -> dict[str, Any]:
        _only(body, ("key",))
        return t.guard.confirm(_required_str(body, "key")).to_dict()

    @router.post("/release")
    def release(body: JSONBody, t: Tenant = served_by) -> dict[str, Any]:
        _only(body, ("key",))
        key = _required_str(body, "key")
        return {"key": key, "released": t.guard.release(key)}

    @router.post("/responses", status_code=204)
    def responses(body: JSONBody, t: Tenant = served_by) -> Response:
        guard = t.guard
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

    @router.get("/preferences/{customer_id}")
    def get_preferences(customer_id: str, t: Tenant = served_by) -> Any:
        prefs = t.ledger.get_preferences(customer_id)
        if prefs is None:
            return _error(404, "not_found", f"no preferences stored for {customer_id!r}")
        return prefs.to_dict()

    @router.put("/preferences/{customer_id}")
    def put_preferences(customer_id: str, body: JSONBody, t: Tenant = served_by) -> dict[str, Any]:
        prefs = ContactPreferences.from_dict(body)
        t.ledger.set_preferences(customer_id, prefs)
        return prefs.to_dict()

    @router.delete("/preferences/{customer_id}", status_code=204)
    def delete_preferences(customer_id: str, t: Tenant = served_by) -> Response:
        t.ledger.set_preferences(customer_id, None)
        return Response(status_code=204)

    # ------------------------------------------------------------------ the customer

    @router.get("/customers/{customer_id}/statement")
    def statement(customer_id: str, t: Tenant = served_by) -> dict[str, Any]:
        return customer_statement(customer_id, t.ledger).to_dict()

    @router.delete("/customers/{customer_id}")
    def forget(customer_id: str, t: Tenant = served_by) -> dict[str, Any]:
        return t.ledger.forget(customer_id).to_dict()

    # ------------------------------------------------------------------ audit

    @router.get("/audit")
    def audit_trail(
        t: Tenant = served_by,
        customer_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]:
        records = t.ledger.decisions(
            customer_id=customer_id,
            since=_instant(since, "since"),
            until=_instant(until, "until"),
        )
        return [r.to_dict() for r in records]

    app.include_router(router)
    app.include_router(router, prefix="/tenants/{tenant}")
    return app


def base_ledger_tenant(ledger: Ledger) -> str:
    return str(getattr(ledger, "tenant", "default"))


# ---------------------------------------------------------------------- security


class _RefusedError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        self.status, self.kind, self.message = status, kind, message


class _Guarded:
    """Refuses a request body larger than ``limit`` bytes with 413, whether it says its
    length (refused before it is read) or comes in chunks (refused once it passes); and
    answers a failure inside the service with 500, logging its type alone (its message,
    or a traceback, may name a customer)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _drain(receive, _LINGER_BYTES)
            await self._refuse(send)
            return
        seen = 0
        started = refused = False

        async def limited() -> Any:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # answer now, and tell the app the client went away: it stops reading
                    # (an error raised here would reach the client as a 400)
                    refused = True
                    if not started:
                        if message.get("more_body", False):
                            await _drain(receive, _LINGER_BYTES)
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def watch(message: Any) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watch)
        except Exception as exc:
            if refused:
                return
            _log.error("internal error: %s", type(exc).__name__)
            if not started:
                await _send_json(send, 500, {"error": "internal", "message": "the service failed"})

    async def _refuse(self, send: Any) -> None:
        message = f"the request body is larger than {self.limit} bytes"
        await _send_json(send, 413, {"error": "too_large", "message": message})


# A refused body is read (and dropped) up to this many bytes before the 413 goes out: a
# server that closes a connection with unread bytes makes the kernel reset it, and the
# client may lose the 413 in the reset. Beyond it the connection is closed unread.
_LINGER_BYTES = 1 << 20


async def _drain(receive: Callable[[], Awaitable[Any]], budget: int) -> None:
    """Read and drop the rest of a request body, up to ``budget`` bytes."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    import json

    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


_ROUTE_SHAPES = (
    (re.compile(r"^/tenants/[^/]+"), "/tenants/{tenant}"),
    (re.compile(r"/preferences/[^/]+$"), "/preferences/{customer_id}"),
    (re.compile(r"/customers/[^/]+/statement$"), "/customers/{customer_id}/statement"),
    (re.compile(r"/customers/[^/]+$"), "/customers/{customer_id}"),
)


def route_of(path: str) -> str:
    """A request's path as the access log may show it: its route, no id, no query."""
    path = path.split("?", 1)[0]
    for pattern, shape in _ROUTE_SHAPES:
        path = pattern.sub(shape, path)
    return path


class _RoutesOnly(logging.Filter):
    """Rewrites uvicorn's access-log lines to show routes, not paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            record.args = (client, method, route_of(str(path)), version, status)
        return True


def _quiet_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RoutesOnly) for f in access.filters):
        access.addFilter(_RoutesOnly())


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
