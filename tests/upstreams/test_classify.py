"""Classification of every error text in upstreams.md §1.5 (Etherscan) and §3.2 (JSON-RPC
range refusals), plus HTTP statuses, Retry-After and malformed bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.upstreams._classify import (
    Outcome,
    classify_envelope,
    classify_proxy,
    classify_response,
    classify_rpc,
)
from tests.upstreams.helpers import notok, ok, rpc_error, rpc_ok

E = Outcome
ETHERSCAN_ERRORS: list[tuple[str, str, Outcome, bool]] = [
    ("NOTOK", "Max calls per sec rate limit reached (3/sec)", E.RATE_LIMITED, False),
    ("NOTOK", "Max calls per sec rate limit reached (5/sec)", E.RATE_LIMITED, False),
    (
        "NOTOK",
        "Max rate limit reached, please use API Key for higher rate limit",
        E.RATE_LIMITED,
        False,
    ),
    ("NOTOK", "Max rate limit reached", E.RATE_LIMITED, False),
    (
        "NOTOK",
        "Max daily rate limit reached. 100000 (100%) of 100000 day/limit",
        E.QUOTA_EXHAUSTED,
        False,
    ),
    ("NOTOK", "Missing/Invalid API Key", E.PERMANENT, True),
    ("NOTOK", "Invalid API Key", E.PERMANENT, True),
    ("NOTOK", "Invalid API Key (#err2)", E.PERMANENT, True),
    ("NOTOK", "Invalid API Key (#err2)|POLY-2", E.PERMANENT, True),
    ("NOTOK", "Too many invalid api key attempts, please try again later", E.RATE_LIMITED, False),
    (
        "NOTOK",
        "Missing or unsupported chainid parameter (required for v2 api), please see"
        " https://api.etherscan.io/v2/chainlist for the list of supported chainids",
        E.PERMANENT,
        False,
    ),
    (
        "NOTOK",
        "Missing or unsupported chainid parameter (required for v2 api), please see chainlist",
        E.PERMANENT,
        False,
    ),
    (
        "NOTOK",
        "Free API access is not supported for this chain. Please upgrade your api plan for full"
        " chain coverage. https://etherscan.io/apis",
        E.PERMANENT,
        False,
    ),
    (
        "NOTOK",
        "Free API access is not supported for this chain. Please upgrade your api plan for full"
        " chain coverage.",
        E.PERMANENT,
        False,
    ),
    (
        "NOTOK",
        "Sorry, it looks like you are trying to access an API Pro endpoint. Contact us to upgrade"
        " to API Pro.",
        E.PERMANENT,
        False,
    ),
    (
        "NOTOK",
        "Query Timeout occured. Please select a smaller result dataset",
        E.RANGE_TOO_LARGE,
        False,
    ),
    ("NOTOK", "Error! Missing Or invalid Action name", E.PERMANENT, False),
    ("NOTOK", "Error! Missing or invalid Module name", E.PERMANENT, False),
    ("NOTOK", "Error! Invalid address format", E.PERMANENT, False),
    ("NOTOK", "Error! Block number already pass", E.PERMANENT, False),
    (
        "NOTOK",
        "You are using a deprecated V1 endpoint, switch to Etherscan API V2.",
        E.PERMANENT,
        False,
    ),
    (
        "NOTOK",
        "You are using a deprecated V1 endpoint, switch to Etherscan API V2 using"
        " https://docs.etherscan.io/v2-migration",
        E.PERMANENT,
        False,
    ),
]


@pytest.mark.parametrize(("message", "result", "outcome", "key_problem"), ETHERSCAN_ERRORS)
def test_etherscan_error_catalogue(
    message: str, result: str, outcome: Outcome, key_problem: bool
) -> None:
    found = classify_envelope(notok(result, message))
    assert (found.outcome, found.key_problem) == (outcome, key_problem)
    assert result[:20] in found.reason


def test_errors_whose_text_is_in_message_with_null_result() -> None:
    window = {
        "status": "0",
        "message": "Result window is too large, PageNo x Offset size must be less than or"
        " equal to 10000",
        "result": None,
    }
    assert classify_envelope(window).outcome is E.RANGE_TOO_LARGE
    wide = {
        "status": "0",
        "message": "Please specify a block range smaller than 10000000 blocks",
        "result": None,
    }
    found = classify_envelope(wide)
    assert (found.outcome, found.max_span) == (E.RANGE_TOO_LARGE, 10_000_000)


def test_bad_key_burst_waits_out_the_ip_throttle() -> None:
    found = classify_envelope(notok("Too many invalid api key attempts, please try again later"))
    assert found.retry_after == 30.0


@pytest.mark.parametrize("message", ["No transactions found", "No records found"])
def test_empty_results_are_not_errors(message: str) -> None:
    found = classify_envelope({"status": "0", "message": message, "result": []})
    assert (found.outcome, found.payload) == (E.EMPTY, [])


def test_success_and_unknown_and_malformed_envelopes() -> None:
    assert classify_envelope(ok("21265524714464")).payload == "21265524714464"
    assert classify_envelope(notok("Something new broke")).outcome is E.TRANSIENT
    assert classify_envelope(["not", "an", "envelope"]).outcome is E.TRANSIENT
    assert classify_envelope({"result": "x"}).outcome is E.TRANSIENT


def test_proxy_module_shapes() -> None:
    assert classify_proxy({"jsonrpc": "2.0", "id": 83, "result": "0xc36b29"}).payload == "0xc36b29"
    assert classify_proxy(rpc_ok(None)).outcome is E.OK  # block not found yet
    assert classify_proxy(notok("Invalid API Key")).key_problem
    dressed = {"jsonrpc": "2.0", "id": 1, "result": "Max rate limit reached"}
    assert classify_proxy(dressed).outcome is E.RATE_LIMITED
    assert classify_proxy(rpc_error(-32602, "invalid argument 0")).outcome is E.PERMANENT
    assert classify_proxy("garbage").outcome is E.TRANSIENT


RANGE_REFUSALS: list[tuple[int, str, Any, tuple[int, int] | None, int | None]] = [
    (
        -32005,
        "query returned more than 10000 results. Try with this block range [0xBDE5F8, 0x102DBCC].",
        {"from": "0xBDE5F8", "limit": 10000, "to": "0x102DBCC"},
        (0xBDE5F8, 0x102DBCC),
        None,
    ),
    (-32602, "range 1000000 exceeds limit of 10000", None, None, 10000),
    (
        -32602,
        "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range"
        " and no limit on the response size, or you can request any block range with a cap of 10K"
        " logs in the response. Based on your parameters and the response size limit, this block"
        " range should work: [0x0, 0xd043b8]",
        None,
        (0, 0xD043B8),
        2000,
    ),
    (
        -32600,
        "You can make eth_getLogs requests with up to a 500 block range. Based on your parameters,"
        " this block range should work: [0x123c9b2, 0x123cba5]",
        None,
        (0x123C9B2, 0x123CBA5),
        500,
    ),
    (-32614, "eth_getLogs is limited to a 10,000 range", None, None, 10000),
    (
        -32602,
        "invalid params",
        "Query returned more than 50000 results. Try with this block range [0x1000000, 0x1080000].",
        (0x1000000, 0x1080000),
        None,
    ),
    (-32000, "maximum [from, to] blocks distance: 2000", None, None, 2000),
    (-32000, "query returned more than 10000 results", None, None, None),
    (-32000, "block range is too wide (maximum 10)", None, None, 10),
    (
        -32602,
        "invalid params",
        {"payload": "range 9009594 is bigger than range limit 2000"},
        None,
        2000,
    ),
    (
        -32602,
        "Query returned more than 10000 results. Try with this block range [0x0, 0x30f].",
        None,
        (0, 0x30F),
        None,
    ),
    (-32008, "Response is too big", None, None, None),
]


@pytest.mark.parametrize(("code", "message", "data", "suggested", "span"), RANGE_REFUSALS)
def test_rpc_range_refusals(
    code: int, message: str, data: Any, suggested: tuple[int, int] | None, span: int | None
) -> None:
    found = classify_rpc(rpc_error(code, message, data))
    assert found.outcome is E.RANGE_TOO_LARGE
    assert found.suggested_range == suggested
    assert found.max_span == span


@pytest.mark.parametrize(
    ("code", "message", "outcome"),
    [
        (-32000, "invalid block range params", E.PERMANENT),
        (-32000, "exceed max topics", E.PERMANENT),
        (-32000, "exceed max addresses", E.PERMANENT),
        (-32602, "block range extends beyond current head block", E.PERMANENT),
        (-32005, "request rate exceeded", E.RATE_LIMITED),
        (-32005, "limit exceeded", E.RATE_LIMITED),
        (-32012, "credits exhausted for this period", E.RATE_LIMITED),
        (429, "Too Many Requests", E.RATE_LIMITED),
        (-32601, "the method eth_foo does not exist/is not available", E.PERMANENT),
        (-32000, "finalized block not found", E.TRANSIENT),
        (-32000, "'finalized' tag not supported on pre-merge network", E.PERMANENT),
        (-32603, "internal error", E.TRANSIENT),
        (-32000, "daily request count exceeded, request rate limited", E.QUOTA_EXHAUSTED),
    ],
)
def test_rpc_other_errors(code: int, message: str, outcome: Outcome) -> None:
    assert classify_rpc(rpc_error(code, message)).outcome is outcome


def test_rpc_success_and_malformed() -> None:
    assert classify_rpc(rpc_ok("0x19")).payload == "0x19"
    assert classify_rpc({"jsonrpc": "2.0", "id": 1}).outcome is E.TRANSIENT
    assert classify_rpc([1, 2]).outcome is E.TRANSIENT


def response(status: int, body: Any = None, **headers: str) -> httpx.Response:
    content = b"<html>oops</html>" if body is None else httpx.Response(200, json=body).content
    return httpx.Response(status, content=content, headers=headers)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (429, E.RATE_LIMITED),
        (401, E.PERMANENT),
        (403, E.PERMANENT),
        (404, E.PERMANENT),
        (413, E.RANGE_TOO_LARGE),
        (408, E.TRANSIENT),
        (500, E.TRANSIENT),
        (502, E.TRANSIENT),
        (503, E.TRANSIENT),
        (504, E.TRANSIENT),
    ],
)
def test_http_statuses(status: int, outcome: Outcome) -> None:
    assert classify_response(response(status), classify_rpc).outcome is outcome


def test_json_error_body_beats_the_status() -> None:
    quicknode = response(413, rpc_error(-32614, "eth_getLogs is limited to a 10,000 range"))
    found = classify_response(quicknode, classify_rpc)
    assert (found.outcome, found.max_span) == (E.RANGE_TOO_LARGE, 10000)


def test_malformed_json_is_transient() -> None:
    found = classify_response(response(200), classify_envelope)
    assert found.outcome is E.TRANSIENT
    assert "malformed" in found.reason


def test_retry_after_seconds_and_http_date() -> None:
    limited = classify_response(response(429, {}, **{"Retry-After": "119"}), classify_rpc)
    assert limited.retry_after == 119.0
    now = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    dated = response(503, None, **{"Retry-After": "Mon, 01 Jun 2026 12:00:30 GMT"})
    assert classify_response(dated, classify_rpc, now=now).retry_after == 30.0
