"""The customer's statement: what relcore holds on them, for them to read (issue 16)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from relcore.cli import main
from relcore.contact_policy import (
    Contact,
    ContactGuard,
    FrequencyCap,
    MemoryLedger,
    Policy,
    SQLiteLedger,
    customer_statement,
)
from relcore.models import ContactPreferences, EventLog
from relcore.scoring import BGNBD, GammaGamma, engagement

T = datetime(2026, 6, 1, 9, tzinfo=UTC)


def busy_guard(ledger) -> ContactGuard:
    guard = ContactGuard(Policy([FrequencyCap(1, per="7d")]), ledger, audit=True)
    guard.request(Contact("c42", channel="email", category="promotional", campaign="june", at=T))
    guard.request(Contact("c42", channel="sms", at=T + timedelta(days=1)))  # held back
    guard.request(Contact("other", channel="email", at=T))
    guard.record_response("c42", T + timedelta(hours=2), "open", channel="email")
    return guard


def test_the_statement_lists_contacts_events_refusals_and_preferences_of_the_customer_only():
    ledger = MemoryLedger()
    busy_guard(ledger)
    ledger.set_preferences(
        "c42",
        ContactPreferences(
            opted_out_channels={"sms"}, quiet_hours=(time(21), time(8)), timezone="Europe/Paris"
        ),
    )
    s = customer_statement("c42", ledger, at=T + timedelta(days=2))
    assert [(c.at, c.channel, c.category, c.campaign) for c in s.contacts] == [
        (T, "email", "promotional", "june")
    ]
    assert [(e.at, e.kind) for e in s.events] == [(T + timedelta(hours=2), "open")]
    assert [(r.at, r.channel, r.codes) for r in s.held_back] == [
        (T + timedelta(days=1), "sms", ("frequency_cap",))
    ]
    assert s.preferences.opted_out_channels == {"sms"}
    text = s.to_text()
    assert "other" not in text
    assert "2026-06-01 11:00 Europe/Paris: email, promotional, campaign june" in text  # their clock
    assert "You opted out of these channels: sms" in text
    assert "No contact between 21:00 and 08:00" in text
    assert s.held_back[0].messages[0] in text  # why, in the guard's own words
    data = json.loads(s.to_json())
    assert data["customer_id"] == "c42"
    assert data["contacts"][0]["at"] == T.isoformat()
    assert data["held_back"][0]["reasons"] == ["frequency_cap"]
    assert data["preferences"]["opted_out_channels"] == ["sms"]


def test_a_ledger_without_an_audit_trail_shows_no_refusal():
    guard = ContactGuard(Policy([FrequencyCap(1, per="7d")]), MemoryLedger())
    guard.request(Contact("c42", channel="email", at=T))
    guard.request(Contact("c42", channel="email", at=T))
    s = customer_statement("c42", guard.ledger, at=T)
    assert len(s.contacts) == 1
    assert s.held_back == ()
    assert "Messages we decided not to send you: none" in s.to_text()


def test_after_forget_the_statement_holds_only_the_opt_outs():
    ledger = MemoryLedger()
    guard = busy_guard(ledger)
    guard.record_response("c42", T, "unsubscribe", channel="email", category="promotional")
    ledger.forget("c42")
    s = customer_statement("c42", ledger, at=T)
    assert (s.contacts, s.events, s.held_back) == ((), (), ())
    assert s.preferences == ContactPreferences(opted_out_categories={"promotional"})


def purchase_log() -> EventLog:
    day = timedelta(days=1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        ("c42", start, 30.0),
        ("c42", start + 10 * day, 20.0),
        ("c42", start + 30 * day, 40.0),
        ("other", start + 5 * day, 99.0),
    ]
    return EventLog.from_arrays(
        np.array([r[0] for r in rows], dtype=object),
        [r[1] for r in rows],
        value=[r[2] for r in rows],
    )


def test_scores_are_the_models_predictions_for_the_customers_own_history():
    # purchases on days 0, 10 and 30 and a statement on day 40: two repeat purchases, the
    # last 30 days after the first, a customer 40 days old, 30 spent on average on repeats
    x, tx, big_t, m = 2.0, 30.0, 40.0, 30.0
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426  # CDNOW, Fader, Hardie & Lee (2005)
    p, q, v = 6.25, 3.74, 15.44  # CDNOW, Fader, Hardie & Lee (2005) note 025
    s = customer_statement(
        "c42",
        MemoryLedger(),
        log=purchase_log(),
        models=[BGNBD(r=r, alpha=alpha, a=a, b=b), GammaGamma(p=p, q=q, v=v)],
        at=datetime(2026, 2, 10, tzinfo=UTC),
        horizon=30,
    )
    got = {sc.name: sc.value for sc in s.scores}
    p_alive = 1 / (1 + a / (b + x - 1) * ((alpha + big_t) / (alpha + tx)) ** (r + x))
    assert got["p_alive"] == pytest.approx(p_alive, rel=1e-9)
    assert 0 < got["expected_purchases"] < 30
    assert got["expected_average_value"] == pytest.approx(p * (v + x * m) / (p * x + q - 1))
    assert all(sc.meaning and sc.source for sc in s.scores)
    whole = engagement(purchase_log(), datetime(2026, 2, 10, tzinfo=UTC))
    assert got["engagement"] == pytest.approx(whole.engagement[whole.customer_id == "c42"][0])
    assert "p_alive = " in s.to_text()


def test_a_customer_absent_from_the_log_gets_no_score_and_an_unknown_model_is_refused():
    log = purchase_log()
    assert (
        customer_statement("nobody", MemoryLedger(), log=log, models=[BGNBD(1, 1, 1, 1)]).scores
        == ()
    )
    with pytest.raises(TypeError, match="models"):
        customer_statement("c42", MemoryLedger(), log=log, models=[object()], at=T)
    with pytest.raises(TypeError, match="log="):
        customer_statement("c42", MemoryLedger(), models=[BGNBD(1, 1, 1, 1)])


def test_relcore_policy_statement_prints_the_statement_as_text_or_json(tmp_path, capsys):
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path)
    busy_guard(ledger)
    brand = ledger.for_tenant("brand-b")
    brand.set_preferences("c42", ContactPreferences(opted_out_categories={"promotional"}))
    ledger.close()
    brand.close()

    assert main(["policy", "statement", str(path), "c42"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("What we hold about you (customer c42)")
    assert "2026-06-01 09:00 UTC: email, promotional, campaign june" in text

    assert main(["policy", "statement", str(path), "c42", "--json", "--tenant", "brand-b"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["tenant"], data["contacts"]) == ("brand-b", [])
    assert data["preferences"]["opted_out_categories"] == ["promotional"]
