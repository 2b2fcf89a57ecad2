"""The service example, tested like a service: uvicorn on 127.0.0.1, two worker processes
sharing a ledger, driven over HTTP by httpx from several client processes. Every test runs
twice: with a SQLite file, and with a ``postgresql://`` dsn naming a fresh database on the
test server (conftest.py). The service serves two tenants, each with its API key.

Needs the ``service`` extra (part of ``dev``).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parents[2]
POLICY = """
name = "service-test"
timezone = "UTC"
exempt_categories = ["transactional"]

[[rules]]
type = "frequency_cap"
count = 3
per = "calendar_day"
"""
DAY = "2026-06-01"
KEY = "default-key-0123456789abcdef"  # the default tenant's
KEY_B = "brand-b-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
AUTH_B = {"Authorization": f"Bearer {KEY_B}"}
MAX_BODY = 8192


def at(hour: int, minute: int = 0) -> str:
    return f"{DAY}T{hour:02d}:{minute:02d}:00+00:00"


def contact(customer: str, hour: int = 9, minute: int = 0, channel: str = "email", **kw):
    return {"customer_id": customer, "channel": channel, "at": at(hour, minute), **kw}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def ledger_config(request, tmp_path_factory):
    """``RELCORE_LEDGER`` for the service: a SQLite file, or a postgresql:// dsn naming a
    database of its own (dropped afterwards)."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("ledger") / "contacts.db")
        return
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    server = request.getfixturevalue("postgres_dsn")
    name = f"relcore_service_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        params = {**conninfo_to_dict(server), "dbname": name}
        yield "postgresql:///?" + urlencode(params)  # as a URI, the form the app reads
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def running(tmp_path_factory, ledger_config):
    """The base URL of a running service and its log; it is always stopped afterwards."""
    tmp = tmp_path_factory.mktemp("service")
    (tmp / "policy.toml").write_text(POLICY)
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "RELCORE_POLICY": str(tmp / "policy.toml"),
        "RELCORE_LEDGER": ledger_config,
        "RELCORE_TENANTS": "default,brand-b",
        "RELCORE_API_KEY_DEFAULT": KEY,
        "RELCORE_API_KEY_BRAND_B": KEY_B,
        "RELCORE_MAX_BODY_BYTES": str(MAX_BODY),
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "app:create_app",
        "--app-dir", str(ROOT / "examples" / "service"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--log-level", "info",
    ]  # fmt: skip
    log = (tmp / "uvicorn.log").open("w")
    proc = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {(tmp / 'uvicorn.log').read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not start within 60 s")
            time.sleep(0.1)
        yield base, tmp / "uvicorn.log"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # uvicorn and its workers
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def service(running):
    return running[0]


def post(base, path, body, headers=AUTH):
    return httpx.post(f"{base}{path}", json=body, timeout=30, headers=headers)


def get(url, headers=AUTH, **kw):
    return httpx.get(url, timeout=30, headers=headers, **kw)


def put(url, json, headers=AUTH):
    return httpx.put(url, json=json, timeout=30, headers=headers)


def delete(url, headers=AUTH):
    return httpx.delete(url, timeout=30, headers=headers)


def _client(base: str, k: int, n: int) -> list[bool]:
    """One client process: n requests for the same customer, each a new message."""
    with httpx.Client(base_url=base, timeout=30, headers=AUTH) as client:
        return [
            client.post(
                "/request", json={"contact": contact("crowded", 9, minute=k * n + i)}
            ).json()["allowed"]
            for i in range(n)
        ]


@pytest.mark.slow
def test_concurrent_requests_from_several_client_processes_allow_exactly_the_cap(service):
    with multiprocessing.get_context("fork").Pool(6) as pool:
        answers = pool.starmap(_client, [(service, k, 8) for k in range(6)])
    assert sum(sum(a) for a in answers) == 3
    trail = get(f"{service}/audit", params={"customer_id": "crowded"}).json()
    assert len(trail) == 48
    assert sum(r["allowed"] for r in trail) == 3
    refused = [r for r in trail if not r["allowed"]]
    assert {tuple(r["codes"]) for r in refused} == {("frequency_cap",)}


def test_a_retried_request_with_its_key_gets_the_original_answer_and_no_second_slot(service):
    body = {"contact": contact("retry"), "key": "retry-1"}
    first, again = post(service, "/request", body), post(service, "/request", body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["allowed"]
    for minute in (1, 2):
        assert post(service, "/request", {"contact": contact("retry", minute=minute)}).json()[
            "allowed"
        ]
    assert not post(service, "/request", {"contact": contact("retry", minute=3)}).json()["allowed"]
    clash = post(service, "/request", {"contact": contact("retry", minute=4), "key": "retry-1"})
    assert clash.status_code == 409
    assert clash.json()["key"] == "retry-1"


def test_a_released_reservation_is_reused_and_a_confirmed_one_is_recorded(service):
    one_a_day = {"max_contacts": [{"count": 1, "per": "calendar_day"}]}
    assert put(f"{service}/preferences/two-phase", one_a_day).status_code == 200
    first = post(service, "/reserve", {"contact": contact("two-phase"), "key": "tp-1"})
    assert first.json()["allowed"]
    assert first.json()["held_until"] is not None
    second = {"contact": contact("two-phase", channel="sms"), "key": "tp-2", "ttl_seconds": 60}
    assert post(service, "/reserve", second).json()["codes"] == ["frequency_cap"]
    assert post(service, "/release", {"key": "tp-1"}).json() == {"key": "tp-1", "released": True}
    assert post(service, "/reserve", second).json()["allowed"]  # the slot is reused
    confirmed = post(service, "/confirm", {"key": "tp-2"})
    assert confirmed.json()["allowed"]
    assert confirmed.json()["contact"]["channel"] == "sms"
    assert post(service, "/confirm", {"key": "tp-2"}).json() == confirmed.json()
    assert post(service, "/release", {"key": "tp-2"}).status_code == 409  # it was sent
    assert post(service, "/confirm", {"key": "tp-1"}).status_code == 409  # it was released
    refused = post(service, "/check", {"contact": contact("two-phase", 12)}).json()
    assert refused["reasons"][0]["message"].startswith("customer's preference: 1 of 1")


def test_a_refused_request_is_explained(service):
    prefs = {"opted_out_channels": ["sms"], "timezone": "Europe/Paris"}
    d = post(
        service, "/request", {"contact": contact("explain", channel="sms"), "preferences": prefs}
    )
    assert d.status_code == 200
    body = d.json()
    assert body["allowed"] is False
    assert body["codes"] == ["opted_out"]
    assert body["reasons"] == [
        {
            "code": "opted_out",
            "message": "the customer opted out of sms",
            "rule": {"type": "opted_out", "channels": ["sms"], "categories": []},
        }
    ]
    assert body["next_allowed_at"] is None
    for hour in (9, 10, 11):
        post(service, "/request", {"contact": contact("explain", hour)})
    capped = post(service, "/check", {"contact": contact("explain", 12)}).json()
    assert capped["codes"] == ["frequency_cap"]
    assert capped["next_allowed_at"] == "2026-06-02T00:00:00+00:00"
    assert "3 of 3 contacts this calendar day" in capped["reasons"][0]["message"]


def test_stored_preferences_and_an_unsubscribe(service):
    assert get(f"{service}/preferences/unsub").status_code == 404
    event = {"customer_id": "unsub", "at": at(8), "kind": "unsubscribe", "channel": "sms"}
    assert post(service, "/responses", event).status_code == 204
    stored = get(f"{service}/preferences/unsub").json()
    assert stored["opted_out_channels"] == ["sms"]
    d = post(service, "/check", {"contact": contact("unsub", channel="sms")}).json()
    assert d["codes"] == ["opted_out"]
    assert delete(f"{service}/preferences/unsub").status_code == 204
    assert post(service, "/check", {"contact": contact("unsub", channel="sms")}).json()["allowed"]


def test_bad_requests_name_what_is_wrong(service):
    naive = post(service, "/check", {"contact": {**contact("bad"), "at": "2026-06-01T09:00:00"}})
    assert naive.status_code == 422
    assert naive.json()["key"] == "contact.at"
    assert "no UTC offset" in naive.json()["message"]
    unknown = post(service, "/request", {"contact": contact("bad"), "prio": 1})
    assert (unknown.status_code, unknown.json()["key"]) == (422, "prio")
    prefs = put(f"{service}/preferences/bad", {"quiet_hours": ["21:00"]})
    assert (prefs.status_code, prefs.json()["key"]) == (422, "quiet_hours")
    nothing = post(service, "/confirm", {"key": "never-reserved"})
    assert nothing.status_code == 409
    assert "nothing is held" in nothing.json()["message"]
    ttl = post(service, "/reserve", {"contact": contact("bad"), "key": "b-1", "ttl_seconds": 0})
    assert (ttl.status_code, ttl.json()["key"]) == (422, "ttl_seconds")


def test_the_audit_trail_names_the_policy_and_the_customers_clock(service):
    post(
        service,
        "/check",
        {"contact": contact("audited", 22), "preferences": {"timezone": "Asia/Tokyo"}},
    )
    trail = get(f"{service}/audit", params={"customer_id": "audited"}).json()
    assert len(trail) == 1
    record = trail[0]
    assert record["policy_name"] == "service-test"
    assert record["policy_hash"] == httpx.get(f"{service}/health", timeout=30).json()["policy_hash"]
    assert record["local_at"] == "2026-06-02T07:00:00+09:00"
    assert record["timezone"] == "Asia/Tokyo"


def test_the_contacts_are_kept_in_the_ledger_the_configuration_names(service, ledger_config):
    from relcore.contact_policy import PostgresLedger, SQLiteLedger

    assert post(service, "/request", {"contact": contact("stored", 9)}).json()["allowed"]
    if ledger_config.startswith("postgresql://"):
        ledger = PostgresLedger(ledger_config)
    else:
        ledger = SQLiteLedger(ledger_config)
    nine = datetime.fromisoformat(at(9))
    assert ledger.customer_history("stored").at.tolist() == [
        (nine - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    ]
    ledger.close()


# ---------------------------------------------------------------------- security (issue 16)

TENANT_B = "/tenants/brand-b"


def test_without_a_valid_key_every_endpoint_but_health_is_401(service):
    for headers in ({}, {"Authorization": "Bearer not-a-key-of-anyone"}, {"Authorization": KEY}):
        assert post(service, "/check", {"contact": contact("k")}, headers).status_code == 401
        assert get(f"{service}/preferences/k", headers).status_code == 401
        assert get(f"{service}{TENANT_B}/audit", headers).status_code == 401
        answer = delete(f"{service}/customers/k", headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert KEY not in answer.text
    assert httpx.get(f"{service}/health", timeout=30).status_code == 200


def test_a_key_for_one_tenant_gets_403_on_another_tenants_customers(service):
    prefs = {"opted_out_channels": ["sms"]}
    assert put(f"{service}{TENANT_B}/preferences/shared", prefs, AUTH_B).status_code == 200
    b_contact = {"contact": contact("shared", channel="sms")}
    assert post(service, f"{TENANT_B}/request", b_contact, AUTH_B).json()["codes"] == ["opted_out"]
    # the default tenant's key, on brand-b's endpoints: refused, and nothing changes
    for answer in (
        post(service, f"{TENANT_B}/request", {"contact": contact("shared")}),
        post(service, f"{TENANT_B}/check", {"contact": contact("shared")}),
        get(f"{service}{TENANT_B}/preferences/shared"),
        put(f"{service}{TENANT_B}/preferences/shared", {}),
        delete(f"{service}{TENANT_B}/preferences/shared"),
        get(f"{service}{TENANT_B}/audit", params={"customer_id": "shared"}),
        get(f"{service}{TENANT_B}/customers/shared/statement"),
        delete(f"{service}{TENANT_B}/customers/shared"),
        post(service, "/tenants/nobody/check", {"contact": contact("shared")}),
    ):
        assert answer.status_code == 403, answer.request.url
    # and brand-b's key on the default tenant's
    assert get(f"{service}/preferences/shared", AUTH_B).status_code == 403
    assert post(service, "/request", {"contact": contact("shared")}, AUTH_B).status_code == 403
    # the same id is another customer in each tenant
    assert get(f"{service}/preferences/shared").status_code == 404
    assert get(f"{service}{TENANT_B}/preferences/shared", AUTH_B).json()["opted_out_channels"] == [
        "sms"
    ]
    assert get(f"{service}/audit", params={"customer_id": "shared"}).json() == []


def test_a_tenant_sees_and_erases_its_customer_and_the_opt_out_stays(service):
    base = f"{service}{TENANT_B}"
    assert post(service, f"{TENANT_B}/request", {"contact": contact("erase-me")}, AUTH_B).json()[
        "allowed"
    ]
    event = {"customer_id": "erase-me", "at": at(10), "kind": "unsubscribe", "channel": "sms"}
    assert post(service, f"{TENANT_B}/responses", event, AUTH_B).status_code == 204
    statement = get(f"{base}/customers/erase-me/statement", AUTH_B).json()
    assert [c["channel"] for c in statement["contacts"]] == ["email"]
    assert statement["tenant"] == "brand-b"
    erased = delete(f"{base}/customers/erase-me", AUTH_B).json()
    assert erased["entries"] == 2
    assert erased["suppressed_channels"] == ["sms"]
    after = get(f"{base}/customers/erase-me/statement", AUTH_B).json()
    assert (after["contacts"], after["events"]) == ([], [])
    sms = {"contact": contact("erase-me", channel="sms")}
    assert post(service, f"{TENANT_B}/check", sms, AUTH_B).json()["codes"] == ["opted_out"]


def test_a_body_over_the_limit_is_413_whether_it_states_its_length_or_streams(service):
    big = {"contact": contact("big"), "key": "x" * MAX_BODY}
    assert post(service, "/request", big).status_code == 413

    def chunks():
        yield b'{"contact": '
        for _ in range(MAX_BODY // 100 + 2):
            yield b" " * 100
        yield b"{}}"

    streamed = httpx.post(
        f"{service}/request",
        content=chunks(),
        headers={**AUTH, "content-type": "application/json"},
        timeout=30,
    )
    assert streamed.status_code == 413
    assert get(f"{service}/audit", params={"customer_id": "big"}).json() == []


def test_the_log_holds_no_customer_id_and_no_key(running):
    service, log = running
    secret_id = "cust-7f3a9e-private"
    post(service, "/request", {"contact": contact(secret_id)})
    put(f"{service}/preferences/{secret_id}", {"opted_out_channels": ["sms"]})
    get(f"{service}/audit", params={"customer_id": secret_id})
    get(f"{service}/customers/{secret_id}/statement")
    post(service, f"{TENANT_B}/check", {"contact": contact(secret_id)}, AUTH_B)
    delete(f"{service}{TENANT_B}/customers/{secret_id}")  # refused: 403
    post(service, "/request", {"contact": contact(secret_id), "prio": 1})  # refused: 422
    time.sleep(0.5)  # the workers write their access log lines
    text = log.read_text()
    assert "/preferences/{customer_id}" in text  # the access log is on, and shows routes
    assert secret_id not in text
    assert KEY not in text
    assert KEY_B not in text
