"""Property-based fuzz of MOs through the real node-smpp SMSC: random texts (Unicode included),
random UDH bytes, any data_coding. Every MO is stored and answered once, the gateway stays
alive, and a normal lookup right afterwards is answered right."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sms_gateway.simulator.control import mo_payload
from tests.conftest import Stack
from tests.sms_gateway.conftest import GatewayProcess, Smsc, wait_until

pytestmark = pytest.mark.e2e

_sources = itertools.count(1)

texts = st.text(max_size=120).map(mo_payload)  # what a handset sends: GSM-7 when it can, else UCS2
raw = st.tuples(st.binary(max_size=140), st.sampled_from([0, 1, 2, 3, 4, 8, 0x10, 0x18, 0xF0, 0xF4, 0xFF])
                | st.integers(0, 255))
udh = st.tuples(st.binary(min_size=0, max_size=12), st.binary(max_size=60), st.sampled_from([0, 4, 8]))
mos = st.one_of(
    st.sampled_from(["1", "¹", "٣", "１", "0", "99999999999999999999"]).map(lambda t: mo_payload(t) + (0,)),
    texts.map(lambda p: (p[0], p[1], 0)),
    raw.map(lambda r: (r[0], r[1], 0)),
    udh.map(lambda u: (u[0] + u[1], u[2], 0x40)),  # UDHI set, header bytes anything (cut short, too long...)
)


@pytest.fixture
def fuzz_gateway(gateway_env: dict, tmp_path: Path):
    # Parts of a long MO that never complete are answered after 2 s instead of a minute.
    process = GatewayProcess({**gateway_env, "SMS_PART_TIMEOUT_S": "2"}, tmp_path)
    process.start()
    yield process
    process.stop()


def test_fuzzed_mos_are_all_answered_once_and_the_gateway_stays_right(
    stack: Stack, smsc: Smsc, fuzz_gateway: GatewayProcess, redis_db: str
) -> None:
    tried: list[int] = []

    # No shrinking: each failing run waits for replies that never come; the failing batch is reported as is.
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=(Phase.explicit, Phase.generate))
    @given(batch=st.lists(mos, min_size=20, max_size=50))
    def every_mo_answered_once(batch: list[tuple[bytes, int, int]]) -> None:
        sources = []
        for payload, coding, esm_class in batch:
            source = f"8497{next(_sources):07d}"
            assert smsc.deliver(source, payload, data_coding=coding, esm_class=esm_class) == 0  # stored
            sources.append(source)
        tried.append(len(batch))
        replies = smsc.wait_replies(sum(tried), timeout=45)
        missing = [(s, mo) for s, mo in zip(sources, batch, strict=True) if s not in replies]
        assert not missing, f"unanswered MOs: {missing[:3]}"
        assert all(len(replies[s]) == 1 for s in sources)
        assert fuzz_gateway.healthy()

    started = time.monotonic()
    every_mo_answered_once()
    print(f"\nMO fuzz: {sum(tried)} MOs in {len(tried)} batches, {time.monotonic() - started:.1f} s")
    code = stack.api_session().get(f"{stack.api_url}/api/v1/dossiers", params={"status": "dang_xu_ly", "limit": 1},
                                   timeout=10).json()["items"][0]["code"]
    smsc.send_text("84980000001", f"HS {code}")
    wait_until(lambda: "84980000001" in smsc.replies(), 30, "lookup answered")
    [reply] = smsc.replies()["84980000001"]
    assert code in reply and "DANG XU LY" in reply
    r = redis.Redis.from_url(redis_db)
    assert r.xlen("sms:dead") == 0  # nothing given up
    assert r.xpending("sms:mo", "sms-workers")["pending"] == 0
    assert fuzz_gateway.healthy()
