"""The held-out conversations (tests/conversations/blind/) are a measurement played by
``make eval-blind``, not a floor of ``make test``; here only that they load: every file parses,
uses only the runner's checks, code styles and statuses, and names procedures of the catalog."""

from __future__ import annotations

from dossier_api.catalog import load_catalog
from scripts.eval_conversations import BLIND_DIR, SUITE_DIR, load_suite

BLIND3_DIR = BLIND_DIR.parent / "blind3"  # a third batch, written after this session's fixes (make eval-blind3)
BLIND4_DIR = BLIND_DIR.parent / "blind4"  # a fourth batch, what a new citizen gets (make eval-blind4)
BLIND5_DIR = BLIND_DIR.parent / "blind5"  # a fifth batch, what a new citizen gets (make eval-blind5)
BLIND6_DIR = BLIND_DIR.parent / "blind6"  # a sixth batch, what a new citizen gets (make eval-blind6)
BLIND7_DIR = BLIND_DIR.parent / "blind7"  # a seventh batch, what a new citizen gets (make eval-blind7)
BLIND8_DIR = BLIND_DIR.parent / "blind8"  # an eighth batch, follow-ups that depend on earlier turns (make eval-blind8)
BLIND9_DIR = BLIND_DIR.parent / "blind9"  # a ninth batch, mostly SMS, two requests in one message (make eval-blind9)
BLIND10_DIR = BLIND_DIR.parent / "blind10"  # a tenth batch, rarer procedures, topic switches (make eval-blind10)

SERVICES = {"lookup", "procedures", "rating", "appointments", "delivery", "feedback", "places", "notifications",
            "news", "handoff", "out_of_scope", "smalltalk"}
PROCEDURE_CHECKS = ("fee_of", "not_fee_of", "time_of", "docs_of", "submit_of", "procedure")


def test_every_blind_file_loads_with_known_checks_only() -> None:
    blind = load_suite(BLIND_DIR)  # validates keys, checks, styles and statuses; raises on any unknown one
    assert len(blind) >= 100
    assert {c.service for c in blind} == SERVICES
    assert all(c.id.startswith("blind-") for c in blind)
    sms = sum(c.channel == "sms" for c in blind)
    assert 0.25 <= sms / len(blind) <= 0.35


def test_the_third_batch_loads_with_known_checks_only() -> None:
    third = load_suite(BLIND3_DIR)
    assert len(third) >= 100 and all(c.id.startswith("blind3-") for c in third)


def test_the_fourth_batch_loads_with_known_checks_only() -> None:
    fourth = load_suite(BLIND4_DIR)
    assert len(fourth) >= 60 and all(c.id.startswith("blind4-") for c in fourth)
    assert sum(c.channel == "sms" for c in fourth) >= 18


def test_the_fifth_batch_loads_with_known_checks_only() -> None:
    fifth = load_suite(BLIND5_DIR)
    assert len(fifth) >= 70 and all(c.id.startswith("blind5-") for c in fifth)
    assert {c.service for c in fifth} == SERVICES
    assert sum(c.channel == "sms" for c in fifth) >= 20


def test_the_sixth_batch_loads_with_known_checks_only() -> None:
    sixth = load_suite(BLIND6_DIR)
    assert len(sixth) >= 80 and all(c.id.startswith("blind6-") for c in sixth)
    assert {c.service for c in sixth} == SERVICES
    assert sum(c.channel == "sms" for c in sixth) >= 22


def test_the_seventh_batch_loads_with_known_checks_only() -> None:
    seventh = load_suite(BLIND7_DIR)
    assert len(seventh) >= 70 and all(c.id.startswith("blind7-") for c in seventh)
    assert {c.service for c in seventh} == SERVICES
    assert sum(c.channel == "sms" for c in seventh) >= 20


def test_the_eighth_batch_loads_with_known_checks_only() -> None:
    eighth = load_suite(BLIND8_DIR)
    assert len(eighth) >= 70 and all(c.id.startswith("blind8-") for c in eighth)
    assert {c.service for c in eighth} == SERVICES
    assert sum(c.channel == "sms" for c in eighth) >= 20
    assert sum(len(c.turns) >= 3 for c in eighth) >= len(eighth) // 3


def test_the_ninth_batch_loads_with_known_checks_only() -> None:
    ninth = load_suite(BLIND9_DIR)
    assert len(ninth) >= 70 and all(c.id.startswith("blind9-") for c in ninth)
    assert {c.service for c in ninth} == SERVICES
    assert sum(c.channel == "sms" for c in ninth) >= 35


def test_the_tenth_batch_loads_with_known_checks_only() -> None:
    tenth = load_suite(BLIND10_DIR)
    assert len(tenth) >= 70 and all(c.id.startswith("blind10-") for c in tenth)
    assert {c.service for c in tenth} == SERVICES
    assert sum(c.channel == "sms" for c in tenth) >= 20


def test_blind_conversations_name_catalog_procedures_and_their_own_dossiers() -> None:
    ids = {p.id for p in load_catalog()}
    for conv in [*load_suite(BLIND_DIR), *load_suite(BLIND3_DIR), *load_suite(BLIND4_DIR),
                 *load_suite(BLIND5_DIR), *load_suite(BLIND6_DIR), *load_suite(BLIND7_DIR), *load_suite(BLIND8_DIR),
                 *load_suite(BLIND9_DIR), *load_suite(BLIND10_DIR)]:
        for turn in conv.turns:
            expect = turn.get("expect") or {}
            for key in PROCEDURE_CHECKS:
                if key in expect:
                    assert expect[key] in ids, f"{conv.id}: unknown procedure {expect[key]}"
            for pid in expect.get("asks_which", []):
                assert pid in ids, f"{conv.id}: unknown procedure {pid}"
            for key in ("status", "late", "masked", "mentions", "due_of", "delivery_of", "subscribed",
                        "unsubscribed", "not_subscribed"):
                if key in expect:
                    assert expect[key] in conv.dossiers, f"{conv.id}: {key} names no dossier of the conversation"


def test_the_blind_set_is_apart_from_the_main_suite() -> None:
    main_ids = {c.id for c in load_suite(SUITE_DIR)}
    blind_ids = {c.id for c in load_suite(BLIND_DIR)}
    assert not main_ids & blind_ids
    third_ids = {c.id for c in load_suite(BLIND3_DIR)}
    assert not (main_ids | blind_ids) & third_ids
    fourth_ids = {c.id for c in load_suite(BLIND4_DIR)}
    assert not (main_ids | blind_ids | third_ids) & fourth_ids
    fifth_ids = {c.id for c in load_suite(BLIND5_DIR)}
    assert not (main_ids | blind_ids | third_ids | fourth_ids) & fifth_ids
    sixth_ids = {c.id for c in load_suite(BLIND6_DIR)}
    assert not (main_ids | blind_ids | third_ids | fourth_ids | fifth_ids) & sixth_ids
    earlier = main_ids | blind_ids | third_ids | fourth_ids | fifth_ids | sixth_ids
    seventh_ids = {c.id for c in load_suite(BLIND7_DIR)}
    assert not earlier & seventh_ids
    eighth_ids = {c.id for c in load_suite(BLIND8_DIR)}
    assert not (earlier | seventh_ids) & eighth_ids
    ninth_ids = {c.id for c in load_suite(BLIND9_DIR)}
    assert not (earlier | seventh_ids | eighth_ids) & ninth_ids
    assert not (earlier | seventh_ids | eighth_ids | ninth_ids) & {c.id for c in load_suite(BLIND10_DIR)}
