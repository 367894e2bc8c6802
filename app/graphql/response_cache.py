"""Whole answers of read-only GraphQL queries over the store, cached like the REST shims.

Executing a page of 25 transfers through Strawberry costs about 2 ms of CPU even when every
row comes from the page cache; most clients send the same few queries. So a POSTed query
whose root fields all read the store (``transfers``, ``transfer``, ``address``, ``search``,
``chains``, ``version``) is answered from the ``graphql_responses`` section when the same
text, variables and operation name were answered without errors within
TOKENPULSE_CACHE_TTL_TRANSFERS_SECONDS. Entries hold no chain (the query may read any), so
every announced batch drops them all. ``health`` and ``warmStatus`` change with time alone
and are never cached; neither is an answer with errors.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Hashable

from graphql import DocumentNode, FieldNode, GraphQLError, OperationDefinitionNode, OperationType
from starlette.requests import Request
from starlette.responses import Response

from app.ops import transfer_service as service
from app.ops.state import AppState

SECTION = "graphql_responses"
CACHEABLE_FIELDS = frozenset(
    {"transfers", "transfer", "address", "search", "chains", "version", "__typename"}
)
MAX_BODY = 64 * 1024  # larger requests are executed, never cached


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name and op.name.value == name), None)


def cacheable(document: DocumentNode, name: str | None) -> bool:
    """A query whose root selections are all plain store-reading fields."""
    operation = _operation(document, name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return False
    selections = operation.selection_set.selections
    return all(
        isinstance(item, FieldNode) and item.name.value in CACHEABLE_FIELDS and not item.directives
        for item in selections
    )


def key_of(body: bytes, parse: Callable[[str], DocumentNode]) -> Hashable | None:
    """The cache key of a POSTed operation, or None when it must simply be executed."""
    if len(body) > MAX_BODY:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None
    variables, name = data.get("variables") or {}, data.get("operationName")
    if not isinstance(variables, dict) or not (name is None or isinstance(name, str)):
        return None
    try:
        document = parse(data["query"])
    except GraphQLError:
        return None
    if not cacheable(document, name):
        return None
    return (data["query"], json.dumps(variables, sort_keys=True, default=str), name)


async def serve(
    state: AppState,
    request: Request,
    parse: Callable[[str], DocumentNode],
    execute: Callable[[], Awaitable[Response]],
) -> Response:
    """The cached answer, or ``execute()``'s (kept when it is a clean 200)."""
    ttl = state.config.settings.cache_ttl_transfers_seconds
    if ttl <= 0 or request.method != "POST":
        return await execute()
    key = key_of(await request.body(), parse)
    if key is None:
        return await execute()
    section = state.cache.section(SECTION, ttl)
    found = section.get(key)
    if found is not None:
        return Response(found, media_type="application/json")
    response = await execute()
    body = getattr(response, "body", None)  # a streamed answer has none: never cached
    if isinstance(body, bytes) and response.status_code == 200 and "errors" not in json.loads(body):
        service.prune(state, section)
        section.put(key, body)
    return response
