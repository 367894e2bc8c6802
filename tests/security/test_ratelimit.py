"""Per-client rate limiting: token buckets (a fake clock, no sleeping), who the client is
(peer, trusted proxies, IPv6 /64), and the middleware: 429 JSON with Retry-After, probes and
metrics exempt, refusals counted in /metrics, off at a rate of 0."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from app.asgi import create_app
from app.config import Config
from app.errors import ConfigError
from app.rest import ratelimit
from app.rest.ratelimit import TokenBuckets, client_key
from tests.api.conftest import offline_config
from tests.conftest import make_config


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_the_burst_then_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(2.0, 3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token back in 1/2 s
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0.0  # another client has its own bucket
    clock.now += 60
    assert [buckets.take("a") for _ in range(3)] == [0.0] * 3  # refilled up to the burst only
    assert buckets.take("a") > 0


def test_refused_requests_spend_nothing() -> None:
    clock = Clock()
    buckets = TokenBuckets(1.0, 1, clock=clock)
    assert buckets.take("a") == 0.0
    for _ in range(50):
        assert buckets.take("a") == pytest.approx(1.0)
    clock.now += 1.0
    assert buckets.take("a") == 0.0


def test_buckets_are_bounded_oldest_forgotten_first() -> None:
    buckets = TokenBuckets(1.0, 1, clock=Clock(), max_clients=3)
    for key in "abcd":
        buckets.take(key)
    assert len(buckets) == 3
    assert buckets.take("a") == 0.0  # forgotten: a fresh (full) bucket
    assert buckets.take("d") > 0  # remembered


def scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "http", "client": (peer, 5000), "headers": headers}


PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


def test_the_peer_is_the_client_unless_it_is_a_trusted_proxy() -> None:
    assert client_key(scope("203.0.113.7", "198.51.100.1"), ()) == "203.0.113.7"
    assert client_key(scope("203.0.113.7", "198.51.100.1"), PROXIES) == "203.0.113.7"
    assert client_key(scope("10.1.2.3", "198.51.100.1"), PROXIES) == "198.51.100.1"


def test_forwarded_hops_are_read_right_to_left_past_trusted_proxies() -> None:
    # The client may write anything on the left; only hops the proxies appended count.
    spoofed = "1.1.1.1, 198.51.100.1, 10.0.0.2"
    assert client_key(scope("10.1.2.3", spoofed), PROXIES) == "198.51.100.1"
    assert client_key(scope("10.1.2.3", "10.0.0.9, 10.0.0.2"), PROXIES) == "10.1.2.3"
    assert client_key(scope("10.1.2.3", "not an ip"), PROXIES) == "not an ip"
    assert client_key(scope("::1", "2001:db8::1"), PROXIES) == "2001:db8::/64"


def test_ipv6_clients_share_their_64_and_mapped_ipv4_is_ipv4() -> None:
    first = client_key(scope("2001:db8:1:2::1"), ())
    assert first == client_key(scope("2001:db8:1:2:ffff::9"), ()) == "2001:db8:1:2::/64"
    assert first != client_key(scope("2001:db8:1:3::1"), ())
    assert client_key(scope("::ffff:192.0.2.1"), ()) == "192.0.2.1"


def test_trusted_proxies_are_validated_at_start() -> None:
    settings = make_config(TOKENPULSE_TRUSTED_PROXIES=" 10.0.0.1, 192.168.0.0/16 ").settings
    assert settings.trusted_proxies == "10.0.0.1/32,192.168.0.0/16"
    with pytest.raises(ConfigError, match="TOKENPULSE_TRUSTED_PROXIES"):
        make_config(TOKENPULSE_TRUSTED_PROXIES="proxy.internal")


def limited(**env: str) -> Config:
    """A token every 100 s after a burst of 3: the 4th request of a test is refused."""
    rate = {"TOKENPULSE_RATE_LIMIT_PER_SECOND": "0.01", "TOKENPULSE_RATE_LIMIT_BURST": "3"}
    return offline_config(**{**rate, **env})


def hit(api: TestClient, headers: dict[str, str] | None = None) -> httpx.Response:
    """A request that needs no database (the app here has none): fast, and limited alike."""
    return api.post("/graphql", json={"query": "{ version }"}, headers=headers)


@pytest.fixture
def api() -> Iterator[TestClient]:
    with TestClient(create_app(limited())) as client:
        yield client


def test_over_the_burst_a_client_gets_429_json_with_retry_after(api: TestClient) -> None:
    for _ in range(3):
        assert hit(api).status_code != 429
    refused = api.post("/graphql", json={"query": "{ version }"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == ratelimit.CODE
    assert refused.headers["content-type"].startswith("application/json")
    assert 1 <= int(refused.headers["Retry-After"]) <= 100  # a token every 100 s
    assert "X-Request-ID" in refused.headers


def test_health_probes_and_metrics_are_never_limited(api: TestClient) -> None:
    for _ in range(4):
        hit(api)
    for path in sorted(ratelimit.EXEMPT_PATHS):
        assert api.get(path).status_code != 429, path


def test_refusals_are_counted_in_metrics(api: TestClient) -> None:
    for _ in range(5):
        hit(api)
    text = api.get("/metrics").text
    assert "tokenpulse_http_rate_limited_total 2.0" in text
    assert "tokenpulse_rate_limit_clients 1.0" in text
    assert 'tokenpulse_http_requests_total{method="POST",route="unmatched",status="429"}' in text


def test_a_429_carries_cors_headers_for_an_allowed_origin(api: TestClient) -> None:
    origin = {"Origin": "http://localhost:5173"}
    for _ in range(3):
        hit(api, origin)
    refused = hit(api, origin)
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_forwarded_for_is_ignored_by_default() -> None:
    with TestClient(create_app(limited())) as api:
        codes = [hit(api, {"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(5)]
    assert codes.count(429) == 2  # one bucket: the peer's, whatever the header says


def test_a_rate_of_zero_turns_limiting_off() -> None:
    with TestClient(create_app(limited(TOKENPULSE_RATE_LIMIT_PER_SECOND="0"))) as api:
        assert all(hit(api).status_code != 429 for _ in range(10))


def test_the_default_limit_leaves_room_for_a_test_suite() -> None:
    settings = make_config().settings
    assert settings.rate_limit_burst >= 200
    assert settings.rate_limit_per_second >= 20
