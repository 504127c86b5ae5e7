"""The link's own submit_sm encoder gives the bytes smpplib's generic encoder gives."""

from __future__ import annotations

import pytest
import smpplib.smpp

from sms_gateway.encoding import encode, udh
from sms_gateway.link import decode_deliver_sm, encode_submit_sm

BASE = dict(source_addr_ton=3, source_addr_npi=0, source_addr="8283", dest_addr_ton=1, dest_addr_npi=1,
            destination_addr="84901234567", data_coding=0, registered_delivery=1, esm_class=0)


class _Sequence:
    sequence = 0x1234

    def next_sequence(self) -> int:
        return self.sequence


@pytest.mark.parametrize("params", [
    {**BASE, "short_message": encode("Ho so 000.00.12.H17-200115-0001: dang xu ly", False)},
    {**BASE, "registered_delivery": 0, "short_message": b""},
    {**BASE, "data_coding": 8, "short_message": encode("Hồ sơ đang xử lý", True)},
    {**BASE, "esm_class": 0x40, "short_message": udh(7, 3, 2) + encode("phan hai {} [x] €", False)},
    {**BASE, "short_message": encode("phan ba", False), "sar_msg_ref_num": 300, "sar_total_segments": 3,
     "sar_segment_seqnum": 3},
], ids=["gsm7", "empty-no-receipt", "ucs2", "udh", "sar"])
def test_submit_sm_encoded_as_smpplib_encodes_it(params: dict) -> None:
    expected = smpplib.smpp.make_pdu("submit_sm", client=_Sequence(), **params).generate()
    assert encode_submit_sm(_Sequence.sequence, params) == expected


class _Generator:
    def __init__(self) -> None:
        self.sequence = 41

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


@pytest.mark.parametrize("params", [
    dict(source_addr="84901234567", destination_addr="8283", short_message=b"HS 000.00.12.H17-200115-0001"),
    dict(source_addr="84901234567", destination_addr="8283", data_coding=8,
         short_message="Hồ sơ".encode("utf-16-be")),
    dict(source_addr="84901234567", destination_addr="8283", esm_class=0x40, short_message=udh(9, 2, 1) + b"abc"),
    dict(source_addr="84901234567", destination_addr="8283", short_message=b"part", sar_msg_ref_num=513,
         sar_total_segments=3, sar_segment_seqnum=2),
    dict(source_addr="84901234567", destination_addr="8283", short_message=b"", message_payload=b"x" * 300),
    dict(source_addr="8283", destination_addr="84901234567", esm_class=0x04, receipted_message_id="3e8a",
         message_state=2, short_message=b"id:3e8a sub:001 dlvrd:001 stat:DELIVRD err:000 text:"),
], ids=["text", "ucs2", "udh", "sar", "payload", "receipt"])
def test_deliver_sm_decoded_as_smpplib_decodes_it(params: dict) -> None:
    raw = smpplib.smpp.make_pdu("deliver_sm", client=_Generator(), **params).generate()
    expected = smpplib.smpp.parse_pdu(raw, client=_Generator(), allow_unknown_opt_params=True)
    found = decode_deliver_sm(raw)
    for name in ("sequence", "source_addr", "destination_addr", "esm_class", "data_coding", "short_message",
                 "message_payload", "receipted_message_id", "sar_msg_ref_num", "sar_total_segments",
                 "sar_segment_seqnum"):
        assert getattr(found, name) == getattr(expected, name, None), name
