"""SMS octets (pure functions): GSM-7 / UCS2 encoding of MT parts, concatenation headers, MO decoding.
What the text of a part is (folding, segments) is ``common.sms_text``."""

from __future__ import annotations

from common.sms_text import GSM7_CODES, GSM7_EXTENSION, GSM7_TABLE

DATA_CODING_GSM7 = 0
DATA_CODING_UCS2 = 8


def encode(text: str, ucs2: bool) -> bytes:
    """The short_message octets: UTF-16BE for UCS2; for GSM-7 one octet a septet
    (SMSC default alphabet, unpacked, as SMPP carries it), extension characters
    escaped with 0x1B."""
    if ucs2:
        return text.encode("utf-16-be")
    out = bytearray()
    for c in text:
        if c in GSM7_CODES:
            out.append(GSM7_CODES[c])
        elif c in GSM7_EXTENSION:
            out += bytes([0x1B, GSM7_EXTENSION[c]])
        else:
            out.append(GSM7_CODES["?"])
    return bytes(out)


def udh(reference: int, total: int, index: int) -> bytes:
    """Concatenation header (IEI 0x00, 8-bit reference)."""
    return bytes([0x05, 0x00, 0x03, reference & 0xFF, total, index])


BINARY_CODINGS = {0x02, 0x04}


def decode_mo(short_message: bytes, data_coding: int) -> str | None:
    """Text of an MO payload, or None for binary or undecodable content."""
    if data_coding in BINARY_CODINGS or (data_coding & 0xF0 == 0xF0 and data_coding & 0x04):
        return None
    if data_coding == DATA_CODING_UCS2:
        if len(short_message) % 2:
            return None
        try:
            return short_message.decode("utf-16-be")
        except UnicodeDecodeError:  # a lone surrogate
            return None
    if data_coding == 0 and all(b < 0x80 for b in short_message):
        return decode_gsm7(short_message)
    return short_message.decode("latin-1")


def decode_gsm7(octets: bytes) -> str:
    """Unpacked GSM-7 septets to text (the SMSC default alphabet)."""
    reverse_ext = {v: k for k, v in GSM7_EXTENSION.items()}
    out = []
    escaped = False
    for b in octets:
        if escaped:
            out.append(reverse_ext.get(b, " "))
            escaped = False
        elif b == 0x1B:
            escaped = True
        else:
            out.append(GSM7_TABLE[b])
    return "".join(out)


class MalformedUdh(ValueError):
    """A user data header that does not fit its own lengths (or a concatenation header that makes no sense)."""


def split_udh(payload: bytes) -> tuple[tuple[int, int, int] | None, bytes]:
    """(reference, total, index) of a concatenation UDH, and the payload without it.

    Raises:
        MalformedUdh: the header is cut short (``05 00 03``), or its concatenation
            numbers are impossible (no parts, part 0, part beyond the total).
    """
    if not payload:
        raise MalformedUdh("UDHI set on an empty payload")
    length = payload[0]
    if 1 + length > len(payload):
        raise MalformedUdh("UDH longer than the payload")
    header, body = payload[1 : 1 + length], payload[1 + length :]
    i = 0
    while i < len(header):
        if i + 2 > len(header) or i + 2 + header[i + 1] > len(header):
            raise MalformedUdh("information element cut short")
        iei, size = header[i], header[i + 1]
        data = header[i + 2 : i + 2 + size]
        concat = None
        if iei == 0x00 and size == 3:
            concat = (data[0], data[1], data[2])
        elif iei == 0x08 and size == 4:
            concat = ((data[0] << 8) | data[1], data[2], data[3])
        if concat is not None:
            if concat[1] == 0 or not 1 <= concat[2] <= concat[1]:
                raise MalformedUdh("impossible concatenation numbers")
            return concat, body
        i += 2 + size
    return None, body
