"""The link's own submit_sm encoder gives the bytes smpplib's generic encoder gives."""

from __future__ import annotations

import pytest
import smpplib.smpp

from sms_gateway.encoding import encode, udh
from sms_gateway.link import encode_submit_sm

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
