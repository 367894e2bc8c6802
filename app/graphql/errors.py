"""Error codes for GraphQL: every error leaves with ``extensions.code``; unexpected ones masked.

Strawberry's defaults are not enough here: its errors carry no code, an exception inside a
resolver reaches the client with its message (which may hold SQL or host names), and it logs
even a client's typo at ERROR with a traceback. ``ErrorCodes`` is a schema extension that
follows the operation through its phases, so it knows *where* each error was born:

============================  ==========================================================
code                          when
============================  ==========================================================
graphql_parse_failed          the query text is not GraphQL (syntax error)
graphql_validation_failed     valid syntax, but not valid against the schema
invalid_input                 variables that do not fit their declared types
<app.errors code>             a TokenpulseError raised by a resolver (``not_found``,
                              ``database_unavailable``...); 5xx ones keep only the class's
                              default message
internal                      anything else: message replaced, original logged
============================  ==========================================================
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.execution import StreamExecutionResult

from app.errors import TokenpulseError
from app.graphql import limits
from app.rest import errors as http_errors

log = logging.getLogger(__name__)

PARSE_FAILED = "graphql_parse_failed"
VALIDATION_FAILED = "graphql_validation_failed"
INVALID_INPUT = "invalid_input"
INTERNAL = "internal"
# Errors of the whole request (nothing was executed): the HTTP view answers them with 400.
REQUEST_ERROR_CODES = frozenset({PARSE_FAILED, VALIDATION_FAILED, INVALID_INPUT, *limits.CODES})


class Phase(enum.Enum):
    START = "start"
    PARSE = "parse"
    VALIDATE = "validate"
    EXECUTE = "execute"


class ErrorCodes(SchemaExtension):
    """Codes (and masks) the errors of one operation; instantiated per operation."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.phase = Phase.START

    def on_parse(self) -> Iterator[None]:
        self.phase = Phase.PARSE
        yield

    def on_validate(self) -> Iterator[None]:
        self.phase = Phase.VALIDATE
        yield

    def on_execute(self) -> Iterator[None]:
        self.phase = Phase.EXECUTE
        yield

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        # Subscriptions (and operations sent over the WebSocket): each result pushed gets the
        # same codes before it is sent; on_operation only sees the stream's end, too late.
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = [coded(error, self.phase) for error in result.errors]
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        # The last phase entered is the one that failed: parsing and validation stop the
        # operation at their first error, so every error shares that phase.
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [coded(error, self.phase) for error in result.errors]


def coded(error: GraphQLError, phase: Phase) -> GraphQLError:
    if error.extensions and "code" in error.extensions:
        return error  # coded already (a streamed result is seen again at the operation's end)
    if phase is Phase.PARSE:
        return _replace(error, error.message, PARSE_FAILED)
    if phase is Phase.VALIDATE:
        return _replace(error, error.message, VALIDATION_FAILED)
    original = error.original_error
    if isinstance(original, TokenpulseError):
        return _application_error(error, original)
    if phase is Phase.EXECUTE and error.path is None:
        # Without a path the error is about the request, not a field: graphql-core coercing
        # the variables before any resolver ran. Its message describes the client's input.
        return _replace(error, error.message, INVALID_INPUT)
    return masked(error)


def masked(error: GraphQLError) -> GraphQLError:
    log.error(
        "graphql error masked as internal",
        exc_info=error.original_error or error,
        extra={"graphql_path": error.path},
    )
    return _replace(error, http_errors.INTERNAL_MESSAGE, INTERNAL)


def _application_error(error: GraphQLError, original: TokenpulseError) -> GraphQLError:
    http_errors.log_application_error(original, where=str(error.path))
    message = http_errors.public_message(original)
    return _replace(error, message, original.code, original.field)


def _replace(
    error: GraphQLError, message: str, code: str, field: str | None = None
) -> GraphQLError:
    extensions: dict[str, Any] = {"code": code}
    if field is not None:
        extensions["field"] = field
    # original_error is dropped on purpose: nothing of the exception may reach the client.
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )
