"""API measurements: the real app served by uvicorn in a child process on loopback.

A separate process keeps the client's own work off the server's event loop (the machine has
two cores: one for each). Requests go to 127.0.0.1 only, bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
GRAPHQL_CHAINS = "{ chains { id name slug enabled coverage { coveredBlocks ranges } } }"
START_TIMEOUT = 30.0


@dataclass
class Endpoint:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    latencies_ms: list[float] = field(default_factory=list)
    concurrent_rps: float | None = None
    problem: str | None = None


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("GET /api/health", "GET", "/api/health"),
        Endpoint("GraphQL chains", "POST", "/graphql", {"query": GRAPHQL_CHAINS}),
    ]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(env: Mapping[str, str], log: Path) -> Iterator[str]:
    """Run the API with uvicorn; yields its base URL."""
    port = _free_port()
    command = [
        sys.executable, "-m", "uvicorn", "bench.api_app:create", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def wait_until_up(client: httpx.AsyncClient) -> str | None:
    """None once the server answers anything; else why it never did."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            await client.get("/api/health")
            return None
        await asyncio.sleep(0.2)
    return f"the server did not answer within {START_TIMEOUT:.0f} s"


async def _call(client: httpx.AsyncClient, endpoint: Endpoint) -> str | None:
    """None when the request succeeded; else what went wrong."""
    response = await client.request(endpoint.method, endpoint.path, json=endpoint.body)
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    if endpoint.path == "/graphql" and response.json().get("errors"):
        return f"GraphQL errors: {response.json()['errors'][0].get('message')}"
    return None


async def measure(
    client: httpx.AsyncClient, endpoint: Endpoint, samples: int, concurrency: int, seconds: float
) -> None:
    """Sequential latency over ``samples`` calls, then throughput with concurrent clients."""
    endpoint.problem = await _call(client, endpoint)
    if endpoint.problem is not None:
        return
    for _ in range(20):  # warm-up
        await _call(client, endpoint)
    for _ in range(samples):
        started = time.perf_counter()
        problem = await _call(client, endpoint)
        endpoint.latencies_ms.append((time.perf_counter() - started) * 1000)
        if problem is not None:
            endpoint.problem = problem
            return
    endpoint.concurrent_rps = await _throughput(client, endpoint, concurrency, seconds)


async def _throughput(
    client: httpx.AsyncClient, endpoint: Endpoint, concurrency: int, seconds: float
) -> float:
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await _call(client, endpoint)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def run(
    env: Mapping[str, str], log: Path, samples: int, concurrency: int, seconds: float
) -> list[Endpoint]:
    measured = endpoints()
    try:
        from bench import api_app  # noqa: F401 - fails here when the API is not there yet
    except ImportError as exc:
        for endpoint in measured:
            endpoint.problem = f"API not available ({exc})"
        return measured
    with serving(env, log) as base_url:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:
            problem = await wait_until_up(client)
            for endpoint in measured:
                if problem is not None:
                    endpoint.problem = problem
                    continue
                await measure(client, endpoint, samples, concurrency, seconds)
    return measured
