"""The GraphQL HTTP transport: Strawberry's ASGI view, made to answer every failure in JSON.

What Strawberry does by default, and why each is overridden here:
- A malformed request (invalid JSON, no query, unsupported content type, a mutation over GET,
  a method other than GET/POST) raises its HTTPException, which its view answers in
  ``text/plain``. Here it is a JSON ``{"errors": [{"message", "extensions": {"code"}}]}``
  with the same status, so a GraphQL client parses every failure the same way.
- A JSON body that is not an object (``42``, ``"x"``) crashes its parser with a 500; here it
  is a 400.
- A mutation over GET is a 400 there; the GraphQL-over-HTTP spec asks for 405 with ``Allow``.
- Parse and validation errors come back with status 200; here they are 400 (nothing was
  executed), while field errors stay 200 with partial data, as the spec wants.

Subscriptions use the ``graphql-transport-ws`` protocol only (the legacy ``graphql-ws`` one
is unmaintained), on the same path; a browser's WebSocket handshake must come from an origin
of TOKENPULSE_CORS_ORIGINS (browsers apply no CORS to WebSockets).
"""

from __future__ import annotations

import logging
from typing import Any

from cross_web import HTTPException  # what Strawberry's views raise (a Strawberry dependency)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult

from app.graphql import errors, loaders, response_cache
from app.graphql.context import Context
from app.graphql.schema import parsed, schema
from app.ops.state import AppState
from app.rest import errors as http_errors

log = logging.getLogger(__name__)


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, state: AppState, *, graphiql: bool) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=state.config.settings.cors_origin_list,
        )
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # subscriptions: Strawberry's protocol handler
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)

        async def execute() -> Response:
            answer: Response = await self.run(request)
            return answer

        try:
            response = await response_cache.serve(self.state, request, parsed, execute)
        except HTTPException as exc:
            response = transport_error(exc)
        await response(scope, receive, send)

    async def get_context(self, request: Request | Any, response: Response | Any) -> Context:
        return Context(
            state=self.state,
            request=request,
            response=response,
            loaders=loaders.create(self.state),
        )

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "Expected a JSON object")
        return parsed

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if response.get("errors"):
            response["errors"] = [ensure_code(error) for error in response["errors"] or []]
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        if isinstance(response_data, dict) and is_request_error(response_data):
            sub_response.status_code = 400
        return super().create_response(response_data, sub_response)


def transport_error(exc: HTTPException) -> JSONResponse:
    """A request Strawberry refused before executing anything, as GraphQL errors JSON."""
    status, headers = exc.status_code, {}
    if isinstance(exc.__cause__, InvalidOperationTypeError):
        status, headers = 405, {"Allow": "POST"}
    elif status == 405:
        headers = {"Allow": "GET, POST"}
    code = http_errors.code_for_status(status)
    body = {"errors": [{"message": exc.reason, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def ensure_code(error: object) -> object:
    """Last line of defence: an error that escaped ErrorCodes (one raised by an extension
    itself, outside the operation) is masked here rather than sent as it is."""
    extensions = error.get("extensions") if isinstance(error, dict) else None
    if isinstance(extensions, dict) and "code" in extensions:
        return error
    log.error("graphql error without a code masked", extra={"graphql_error": error})
    return {"message": http_errors.INTERNAL_MESSAGE, "extensions": {"code": errors.INTERNAL}}


def is_request_error(response: GraphQLHTTPResponse) -> bool:
    """Nothing executed: every error is about the request itself."""
    found = response.get("errors") or []
    return (
        response.get("data") is None
        and bool(found)
        and all(
            isinstance(error, dict)
            and error.get("extensions", {}).get("code") in errors.REQUEST_ERROR_CODES
            for error in found
        )
    )
