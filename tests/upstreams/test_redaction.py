"""API keys never appear in exception messages, reprs or log records, whatever fails."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from app.upstreams import EtherscanClient, RetryPolicy, RpcClient, redact
from app.upstreams.errors import UpstreamError
from tests.upstreams.helpers import SECRET, TOKEN, make_rig, notok, rpc_error

RPC_SECRET_URL = "https://node.test/v3/RPCSECRET-0123456789abcdef"


def leaky(request: httpx.Request) -> httpx.Response:
    # Transport errors often quote the URL, key and all.
    raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)


def everything(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    logged = [(r.getMessage(), repr(r.args), repr(r.__dict__)) for r in caplog.records]
    parts = [str(error), repr(error), repr(error.args), caplog.text, repr(logged)]
    parts.append("".join(traceback.format_exception(error)))
    return "\n".join(parts)


async def test_key_never_leaks_from_transport_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rig = make_rig(leaky, policy=RetryPolicy(max_attempts=2))
    client = EtherscanClient(rig.gateway, base_url="https://x.test/api", chain_id=1, token=TOKEN)
    with pytest.raises(UpstreamError) as caught:
        await client.get_logs(1, 2)
    assert "ConnectError" in str(caught.value)
    assert SECRET not in everything(caught.value, caplog)


async def test_key_never_leaks_from_httpx_request_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # app.logging.configure() (run by other tests) quiets httpx below DEBUG; ask for it here.
    caplog.set_level(logging.DEBUG, logger="httpx")
    echo = f"Invalid API Key {SECRET}"  # even an upstream that echoes the key back
    rig = make_rig([notok("Max rate limit reached"), notok(echo)])
    client = EtherscanClient(rig.gateway, base_url="https://x.test/api", chain_id=1, token=TOKEN)
    with pytest.raises(UpstreamError) as caught:
        await client.token_supply()
    assert any(r.name == "httpx" for r in caplog.records)  # the request log was there...
    assert any("apikey=***" in r.getMessage() for r in caplog.records)  # ...redacted
    assert any(r.levelno == logging.WARNING for r in caplog.records)  # the rate-limit warning
    assert SECRET not in everything(caught.value, caplog)


async def test_rpc_url_secret_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    replies = [rpc_error(-32603, f"internal error at {RPC_SECRET_URL}")]
    rig = make_rig(replies, secrets=(RPC_SECRET_URL,), policy=RetryPolicy(max_attempts=2))
    client = RpcClient(rig.gateway, chain_id=25, token=TOKEN)
    with pytest.raises(UpstreamError) as caught:
        await client.block_number()
    assert "RPCSECRET" not in everything(caught.value, caplog)
    assert "RPCSECRET" not in repr(client) + repr(rig.gateway)


def test_redact() -> None:
    assert redact("GET https://a.test/api?module=x&apikey=ABC123&page=1") == (
        "GET https://a.test/api?module=x&apikey=***&page=1"
    )
    assert redact("https://user:pw@host.test/x") == "https://***@host.test/x"
    assert redact("x_cg_demo_api_key=zzz9") == "x_cg_demo_api_key=***"
    assert redact("the key is s3cr3t-value", ["s3cr3t-value"]) == "the key is ***"
