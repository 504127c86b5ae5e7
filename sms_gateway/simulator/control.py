"""Client of the simulator's control API (``smsc.js``): inject MOs, read MTs."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import requests

from common.sms_text import GSM7_BASIC
from sms_gateway.encoding import DATA_CODING_GSM7, DATA_CODING_UCS2, encode


def mo_payload(text: str) -> tuple[bytes, int]:
    """How a handset would send ``text``: GSM-7 when it can, else UCS2."""
    if all(c in GSM7_BASIC for c in text):
        return encode(text, ucs2=False), DATA_CODING_GSM7
    return encode(text, ucs2=True), DATA_CODING_UCS2


def concat_info(submit: dict) -> tuple[int, int, int]:
    """(reference, total, index) of a logged submit_sm (UDH or sar_ TLVs)."""
    if submit.get("sar"):
        ref, total, index = submit["sar"]
        return ref, total, index
    for udh in submit.get("udh") or []:
        raw = bytes.fromhex(udh)
        if raw[0] == 0x00:  # node-smpp gives [iei, length, ref, total, index]
            return raw[2], raw[3], raw[4]
    return 0, 1, 1


def assemble(submits: list[dict]) -> dict[str, list[str]]:
    """Whole reply texts per destination, in order; concatenated parts joined.

    Parts are grouped by destination and reference; a part index seen again
    under the same reference starts another message (8-bit references repeat).
    """
    open_parts: dict[tuple, list[dict[int, str]]] = defaultdict(list)
    complete: list[tuple[str, dict[int, str]]] = []
    for s in submits:
        ref, total, index = concat_info(s)
        if total <= 1:
            complete.append((s["dest"], {1: s["text"]}))
            continue
        pending = open_parts[(s["dest"], ref, total)]
        target = next((p for p in pending if index not in p), None)
        if target is None:
            target = {}
            pending.append(target)
        target[index] = s["text"]
        if len(target) == total:
            pending.remove(target)
            complete.append((s["dest"], target))
    out: dict[str, list[str]] = defaultdict(list)
    for dest, parts in complete:
        out[dest].append("".join(parts[i] for i in sorted(parts)))
    return dict(out)


class SimulatorControl:
    """The control API of a running ``smsc.js``."""

    def __init__(self, control_url: str, log: Path | None = None) -> None:
        self.url = control_url.rstrip("/")
        self.log = log

    def deliver(self, source: str, payload: bytes, data_coding: int = 0, esm_class: int = 0,
                tlvs: dict | None = None, resend: bool = False) -> int:
        """Send one deliver_sm to the bound gateway; returns the deliver_sm_resp status.

        ``resend``: then send the very same PDU again (same sequence number), as an SMSC
        does when our deliver_sm_resp did not reach it in time."""
        resp = requests.post(f"{self.url}/deliver", json={
            "source": source, "dest": "8283", "hex": payload.hex(), "data_coding": data_coding,
            "esm_class": esm_class, "tlvs": tlvs or {}, "resend_same_sequence": resend,
        }, timeout=15)
        resp.raise_for_status()
        return resp.json()["status"]

    def send_text(self, source: str, text: str) -> int:
        payload, coding = mo_payload(text)
        return self.deliver(source, payload, coding)

    def entries(self) -> list[dict]:
        """Every event the simulator logged (submits, throttles, errors)."""
        if self.log is not None:
            text = self.log.read_text() if self.log.exists() else ""
            lines = text.split("\n")[:-1]  # the last piece is a line the SMSC is still writing (or empty)
            return [json.loads(line) for line in lines if line.strip()]
        return requests.get(f"{self.url}/log", timeout=10).json()

    def submits(self, since: float = 0.0) -> list[dict]:
        """Every submit_sm the simulator accepted, newer than ``since`` (epoch s)."""
        return [e for e in self.entries() if e["event"] == "submit" and e["time"] / 1000 >= since]

    def wait_reply(self, dest: str, since: float, timeout: float = 30.0) -> str | None:
        """The first whole reply to ``dest`` after ``since``, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = assemble(self.submits(since)).get(dest)
            if replies:
                return replies[0]
            time.sleep(0.1)
        return None
