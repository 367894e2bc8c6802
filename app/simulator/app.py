"""``create_app(sim)``: the simulator's routes. Paths are fixed (docs/simulator.md) so tools
outside the codebase can drive it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.simulator import admin, etherscan, explorer, prices_api, rpc

if TYPE_CHECKING:
    from app.simulator.core import Simulator

Handler = Callable[["Simulator", Request], Awaitable[Response]]


def create_app(sim: Simulator) -> Starlette:
    def bind(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await handler(sim, request)

        return endpoint

    def route(path: str, handler: Handler, methods: tuple[str, ...] = ("GET",)) -> Route:
        return Route(path, bind(handler), methods=list(methods))

    async def chainlist(sim: Simulator, request: Request) -> Response:
        served = [c for c in sim.world.chains.values() if c.id not in etherscan.UNSUPPORTED_CHAINS]
        result = [
            {
                "chainname": c.name,
                "chainid": str(c.id),
                "blockexplorer": f"https://{c.slug}.example",
                "apiurl": "https://api.etherscan.io/v2/api?chainid=" + str(c.id),
                "status": 1,
                "comment": "",
            }
            for c in served
        ]
        return JSONResponse({"comments": "", "totalcount": len(result), "result": result})

    routes = [
        route("/v2/api", etherscan.handle),
        route("/v2/chainlist", chainlist),
        route("/api", etherscan.v1),
        route("/cronos/api", explorer.handle),
        route("/rpc/{chain_id:int}", rpc.handle, ("POST",)),
        route("/coingecko/api/v3/simple/price", prices_api.coingecko),
        route("/coingecko/api/v3/simple/token_price/{platform}", prices_api.coingecko),
        route("/cmc/{version:str}/cryptocurrency/quotes/latest", prices_api.coinmarketcap),
        route("/dexscreener/latest/dex/tokens/{addresses}", prices_api.dexscreener_tokens),
        route("/dexscreener/latest/dex/search", prices_api.dexscreener_search),
        route("/coinpaprika/v1/tickers/{coin_id}", prices_api.coinpaprika),
        route("/_sim/state", admin.state),
        route("/_sim/calls", admin.calls),
        route("/_sim/calls", admin.clear_calls, ("DELETE",)),
        route("/_sim/faults", admin.faults),
        route("/_sim/faults", admin.add_faults, ("POST",)),
        route("/_sim/faults", admin.remove_fault, ("DELETE",)),
        route("/_sim/faults/{fault_id:int}", admin.remove_fault, ("DELETE",)),
        route("/_sim/reorg", admin.reorg, ("POST",)),
        route("/_sim/truth/{chain_id:int}", admin.truth),
        route("/_sim/truth/{chain_id:int}/{what}", admin.truth),
        route("/_sim/keys", admin.keys),
        route("/_sim/keys", admin.add_key, ("POST",)),
        route("/_sim/clock", admin.clock, ("POST",)),
        route("/_sim/limits/reset", admin.reset_limits, ("POST",)),
        route("/_sim/skews", admin.skews),
        route("/_sim/skews", admin.set_skews, ("PUT",)),
    ]
    return Starlette(routes=routes)
