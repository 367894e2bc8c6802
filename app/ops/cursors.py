"""Opaque keyset cursors: the key of a row, bound to the query it came from.

A cursor is URL-safe base64 (no padding) of 67 bytes::

    version (1) | order (1) | block_time µs (8) | chain_id (4) | block_number (8)
    | log_index (4) | tx_hash (32) | query fingerprint (4) | tag (5)

The fingerprint is a hash of the filters (not of the page size), so a cursor only continues
the query it came from; the tag is a keyed BLAKE2b of the rest, so an altered or hand-made
cursor is refused as ``invalid_cursor`` rather than silently starting somewhere else. The
tag is an integrity check, not a secret: a cursor only ever names a position, and anyone may
read what it holds. Cursors stay valid across restarts and processes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from datetime import UTC, datetime, timedelta

from app.ops.transfer_inputs import InvalidCursor
from app.store.transfer_sql import Key, Order, TransferFilter

VERSION = 1
_BODY = struct.Struct(">BBqiqi32s4s")
_TAG_BYTES = 5
_KEY = b"tokenpulse cursor v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_MICROS = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_ORDERS = {Order.NEWEST_FIRST: 0, Order.OLDEST_FIRST: 1}


def fingerprint(transfer_filter: TransferFilter) -> bytes:
    """4 bytes that differ, in practice, between any two filters."""
    return hashlib.blake2b(repr(transfer_filter).encode(), digest_size=4).digest()


def _tag(body: bytes) -> bytes:
    return hmac.new(_KEY, body, hashlib.blake2b).digest()[:_TAG_BYTES]


def encode(key: Key, order: Order, transfer_filter: TransferFilter) -> str:
    block_time, chain_id, block_number, log_index, tx_hash = key
    micros = (block_time - _EPOCH) // timedelta(microseconds=1)
    body = _BODY.pack(
        VERSION, _ORDERS[order], micros, chain_id, block_number, log_index,
        bytes.fromhex(tx_hash.removeprefix("0x")), fingerprint(transfer_filter),
    )  # fmt: skip
    return base64.urlsafe_b64encode(body + _tag(body)).rstrip(b"=").decode()


def decode(cursor: str, order: Order, transfer_filter: TransferFilter, field: str) -> Key:
    """The key in ``cursor``, or InvalidCursor naming ``field``."""
    raw = _unpack(cursor, field)
    body, tag = raw[: _BODY.size], raw[_BODY.size :]
    if not hmac.compare_digest(tag, _tag(body)):
        raise InvalidCursor(f"{field}: not a cursor this API issued", field=field)
    version, order_code, micros, chain_id, block, log_index, tx, print_ = _BODY.unpack(body)
    if version != VERSION or not 0 <= micros <= _MAX_MICROS:
        raise InvalidCursor(f"{field}: not a cursor this API issued", field=field)
    if order_code != _ORDERS[order] or print_ != fingerprint(transfer_filter):
        text = f"{field}: the cursor belongs to another query (other filters or order)"
        raise InvalidCursor(text, field=field)
    if chain_id <= 0 or block < 0 or log_index < 0:
        raise InvalidCursor(f"{field}: not a cursor this API issued", field=field)
    return (_EPOCH + timedelta(microseconds=micros), chain_id, block, log_index, "0x" + tx.hex())


def _unpack(cursor: str, field: str) -> bytes:
    expected = _BODY.size + _TAG_BYTES
    if len(cursor) > 2 * expected:  # reject early: never decode a huge string
        raise InvalidCursor(f"{field}: malformed cursor", field=field)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor(f"{field}: malformed cursor", field=field) from None
    if len(raw) != expected:
        raise InvalidCursor(f"{field}: malformed cursor", field=field)
    return raw
