"""Limits on what one GraphQL operation may ask for: size, depth, aliases, cost, introspection.

Every page of the schema is bounded (``first``/``last`` count as at most 1000), but a query
can still multiply work: aliases repeat a field, lists nest inside lists, and introspection's
types are cyclic (``__Type.fields.type.fields…``). Each limit refuses the operation before
anything runs, with a stable ``extensions.code`` and HTTP 400 (docs/security.md):

======================  =================================================================
code                    when
======================  =================================================================
query_too_large         the text has more than MAX_TOKENS lexical tokens (checked while
                        parsing, so a huge document costs no more than that to refuse)
query_too_deep          fields nest deeper than TOKENPULSE_GRAPHQL_MAX_DEPTH; introspection
                        fields (``__…``) are not counted there, but graphql-core's own rule
                        stops their cycles (``fields { type { fields …`` past 3 levels)
too_many_aliases        more aliased fields than TOKENPULSE_GRAPHQL_MAX_ALIASES
introspection_disabled  ``__schema``/``__type`` while TOKENPULSE_GRAPHQL_INTROSPECTION=false
query_too_complex       the estimated cost (app.graphql.cost) exceeds
                        TOKENPULSE_GRAPHQL_MAX_COST
======================  =================================================================

Depth, aliases and introspection are validation rules (their classes are made once per set
of limits, so Strawberry's ValidationCache keeps hitting). The cost needs the variables
(``first: $n``), so it is checked when execution starts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from app.config import Settings
from app.graphql import cost

QUERY_TOO_LARGE = "query_too_large"
QUERY_TOO_DEEP = "query_too_deep"
TOO_MANY_ALIASES = "too_many_aliases"
QUERY_TOO_COMPLEX = "query_too_complex"
INTROSPECTION_DISABLED = "introspection_disabled"
# All refuse the whole request (nothing executed): the HTTP view answers them with 400.
CODES = frozenset(
    {QUERY_TOO_LARGE, QUERY_TOO_DEEP, TOO_MANY_ALIASES, QUERY_TOO_COMPLEX, INTROSPECTION_DISABLED}
)

# 64 KiB of GraphQL is ~10,000 tokens; a generous client query is a few hundred, the full
# introspection query ~300. Fixed (not a setting) because parsed documents are cached
# process-wide, whatever app parsed them.
MAX_TOKENS = 5_000
_INTROSPECTION_DEPTH_MESSAGE = "Maximum introspection depth exceeded"  # graphql-core's rule
_TOKENS_MESSAGE = "tokens. Parsing aborted."  # graphql-core's max_tokens syntax error


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 15
    max_cost: int = 50_000
    introspection: bool = True

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_cost=settings.graphql_max_cost,
            introspection=settings.graphql_introspection,
        )


def coded_error(message: str, code: str, node: Any = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code})


class QueryLimits(SchemaExtension):
    """Applies the app's Limits to each operation (instantiated per operation)."""

    def on_operation(self) -> Iterator[None]:
        # Strawberry's own parse (when the cached one failed) stops at MAX_TOKENS too.
        self.execution_context.parse_options["max_tokens"] = MAX_TOKENS
        limits = _limits_of(self.execution_context.context)
        self.execution_context.validation_rules = (
            *self.execution_context.validation_rules,
            *rules(limits.max_depth, limits.max_aliases, limits.introspection),
        )
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_recoded(error) for error in result.errors]

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            limits = _limits_of(context.context)
            found = cost.of_operation(
                context.schema._schema, document, context.operation_name, context.variables
            )
            if found > limits.max_cost:
                # Raised, not set as the result: Strawberry turns an exception from this hook
                # into the operation's only error, for queries and subscriptions alike.
                raise coded_error(
                    f"The query's estimated cost is {found}; at most {limits.max_cost} is"
                    " allowed. Ask for smaller pages or fewer fields.",
                    QUERY_TOO_COMPLEX,
                )
        yield


def _limits_of(context: object) -> Limits:
    state = getattr(context, "state", None)
    config = getattr(state, "config", None)
    settings = getattr(config, "settings", None)
    return Limits.of(settings) if isinstance(settings, Settings) else Limits()


def _recoded(error: GraphQLError) -> GraphQLError:
    """graphql-core's own limits (the parser's max_tokens, the introspection depth rule) with
    this module's codes; their errors carry no code, so only the message tells them apart."""
    if error.extensions and "code" in error.extensions:
        return error
    if error.message.endswith(_TOKENS_MESSAGE):
        message = f"The query is longer than {MAX_TOKENS} tokens."
        return coded_error(message, QUERY_TOO_LARGE, error.nodes)
    if error.message == _INTROSPECTION_DEPTH_MESSAGE:
        message = "Introspection nests too deep (fields of types of fields, at most 3 levels)."
        return coded_error(message, QUERY_TOO_DEEP, error.nodes)
    return error


# --- validation rules (document only) ---


@functools.cache
def rules(
    max_depth: int, max_aliases: int, introspection: bool
) -> tuple[type[ASTValidationRule], ...]:
    """The rule classes of one set of limits; the same objects each time (cache keys)."""

    class ShapeRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            shape = Shape(_fragments(self.context))
            depth = shape.depth(node.selection_set)
            if depth > max_depth:
                self.report_error(
                    coded_error(
                        f"The query nests {depth} levels deep; at most {max_depth} allowed.",
                        QUERY_TOO_DEEP,
                        node,
                    )
                )
            aliases = shape.aliases(node.selection_set)
            if aliases > max_aliases:
                self.report_error(
                    coded_error(
                        f"The query has {aliases} aliases; at most {max_aliases} allowed.",
                        TOO_MANY_ALIASES,
                        node,
                    )
                )

    found: list[type[ASTValidationRule]] = [ShapeRule]
    if not introspection:
        found.append(NoIntrospection)
    return tuple(found)


class NoIntrospection(NoSchemaIntrospectionCustomRule):
    """graphql-core's rule, with a code, a shorter message, and once per document (it would
    report every introspection field: ~100 errors for GraphiQL's query)."""

    reported = False

    def report_error(self, error: GraphQLError) -> None:
        if self.reported:
            return
        self.reported = True
        super().report_error(
            coded_error(
                "Introspection is disabled on this server; the schema is published in"
                " docs/schema.graphql.",
                INTROSPECTION_DISABLED,
                error.nodes,
            )
        )


def _fragments(context: ValidationContext) -> dict[str, FragmentDefinitionNode]:
    return {
        item.name.value: item
        for item in context.document.definitions
        if isinstance(item, FragmentDefinitionNode)
    }


def _fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[FieldNode | FragmentDefinitionNode]:
    """The fields of a selection set, inline fragments flattened; named fragments as such."""
    for item in selection_set.selections:
        if isinstance(item, FieldNode):
            yield item
        elif isinstance(item, InlineFragmentNode):
            yield from _fields(item.selection_set, fragments)
        elif isinstance(item, FragmentSpreadNode) and item.name.value in fragments:
            yield fragments[item.name.value]


class Shape:
    """Depth and alias count of a document, each fragment measured once (memoised), and a
    fragment met again inside itself (a cycle, refused by validation anyway) counted 0."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self._depth: dict[str, int] = {}
        self._aliases: dict[str, int] = {}

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        best = 0
        for item in _fields(selection_set, self.fragments) if selection_set else ():
            if isinstance(item, FragmentDefinitionNode):
                best = max(best, self._memo(item, self._depth, self.depth))
            elif not item.name.value.startswith("__"):
                best = max(best, 1 + self.depth(item.selection_set))
        return best

    def aliases(self, selection_set: SelectionSetNode | None) -> int:
        total = 0
        for item in _fields(selection_set, self.fragments) if selection_set else ():
            if isinstance(item, FragmentDefinitionNode):
                total += self._memo(item, self._aliases, self.aliases)
            else:
                total += (item.alias is not None) + self.aliases(item.selection_set)
        return total

    @staticmethod
    def _memo(fragment: FragmentDefinitionNode, memo: dict[str, int], measure: Any) -> int:
        name = fragment.name.value
        if name not in memo:
            memo[name] = 0  # while measuring it: a cycle back to it counts nothing
            memo[name] = int(measure(fragment.selection_set))
        return memo[name]
