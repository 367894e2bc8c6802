"""The control surface under ``/_sim/``: call log, faults, reorgs, ground truth, keys, clock,
figure skews.

Everything here is also reachable from Python on the :class:`~app.simulator.core.Simulator`
(``sim.calls``, ``sim.faults``, ``sim.reorg``, ``sim.truth``, ``sim.keys``, ``sim.clock``).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.simulator.limits import KeySpec, fingerprint

if TYPE_CHECKING:
    from app.simulator.core import Simulator


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status)


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError:
        return None


async def state(sim: Simulator, request: Request) -> JSONResponse:
    return JSONResponse(sim.state())


async def calls(sim: Simulator, request: Request) -> JSONResponse:
    q = request.query_params
    service = q.get("service") or None
    limit = int(q.get("limit") or 1000)
    summary = sim.calls.summary(service)
    recent = sim.calls.calls(service)[-limit:] if limit > 0 else []
    summary["calls"] = [call.to_json() for call in recent]
    return JSONResponse(summary)


async def clear_calls(sim: Simulator, request: Request) -> JSONResponse:
    sim.calls.clear()
    return JSONResponse({"cleared": True})


async def faults(sim: Simulator, request: Request) -> JSONResponse:
    return JSONResponse({"faults": [fault.to_json() for fault in sim.faults.active()]})


async def add_faults(sim: Simulator, request: Request) -> JSONResponse:
    body = await _json(request)
    specs = body if isinstance(body, list) else [body]
    try:
        added = [sim.faults.add_spec(spec) for spec in specs]
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return JSONResponse({"faults": [fault.to_json() for fault in added]}, 201)


async def remove_fault(sim: Simulator, request: Request) -> JSONResponse:
    fault_id = request.path_params.get("fault_id")
    if fault_id is None:
        sim.faults.clear()
        return JSONResponse({"removed": "all"})
    if not sim.faults.remove(int(fault_id)):
        return _bad(f"no fault {fault_id}", 404)
    return JSONResponse({"removed": int(fault_id)})


async def reorg(sim: Simulator, request: Request) -> JSONResponse:
    body = await _json(request)
    if not isinstance(body, dict):
        return _bad('expected {"chainId": N, "depth": N}')
    try:
        chain_id, depth = int(body["chainId"]), int(body.get("depth", 1))
        return JSONResponse(sim.reorg(chain_id, depth))
    except KeyError:
        return _bad("unknown or missing chainId", 404)
    except ValueError as exc:
        return _bad(str(exc))


async def truth(sim: Simulator, request: Request) -> JSONResponse:
    chain_id = int(request.path_params["chain_id"])
    what = request.path_params.get("what", "summary")
    try:
        return JSONResponse(sim.truth(chain_id, what, **dict(request.query_params)))
    except KeyError:
        return _bad(f"chain {chain_id} is not simulated", 404)
    except ValueError as exc:
        return _bad(str(exc), 404)


async def keys(sim: Simulator, request: Request) -> JSONResponse:
    listed = {fingerprint(key): spec.to_json() for key, spec in sim.keys.items()}
    return JSONResponse({"keys": listed})


async def add_key(sim: Simulator, request: Request) -> JSONResponse:
    body = await _json(request)
    if not isinstance(body, dict) or not isinstance(body.get("key"), str) or not body["key"]:
        return _bad('expected {"key": "...", "plan": "free|lite|standard|..."}')
    try:
        spec = KeySpec.from_json(body)
    except ValueError as exc:
        return _bad(str(exc))
    sim.keys[body["key"]] = spec
    return JSONResponse({"key": fingerprint(body["key"]), **spec.to_json()}, 201)


async def clock(sim: Simulator, request: Request) -> JSONResponse:
    body = await _json(request)
    if not isinstance(body, dict):
        return _bad('expected {"speed": X} and/or {"advance": seconds}')
    try:
        if "speed" in body:
            sim.clock.set_speed(float(body["speed"]))
        if "advance" in body:
            sim.clock.advance(float(body["advance"]))
    except (TypeError, ValueError) as exc:
        return _bad(str(exc))
    return JSONResponse({"now": sim.clock.now(), "speed": sim.clock.speed})


async def reset_limits(sim: Simulator, request: Request) -> JSONResponse:
    sim.limiter.reset()
    return JSONResponse({"reset": True})


_SKEW_KEY = re.compile(r"^(supply|holders)(:[0-9]+)?$")


async def skews(sim: Simulator, request: Request) -> JSONResponse:
    return JSONResponse({"skews": sim.options.skews})


async def set_skews(sim: Simulator, request: Request) -> JSONResponse:
    """Replace the skews: ``{"holders": 0.05, "supply:137": -0.01}`` ({} clears them)."""
    body = await _json(request)
    if not isinstance(body, dict) or not all(
        isinstance(k, str) and _SKEW_KEY.match(k) and _fraction(v) for k, v in body.items()
    ):
        return _bad('expected {"supply" | "holders" | "supply:<chainId>" ...: fraction > -1}')
    sim.options.skews = {k: float(v) for k, v in body.items()}
    return JSONResponse({"skews": sim.options.skews})


def _fraction(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > -1
