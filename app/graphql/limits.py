"""Limits on what one GraphQL operation may ask for: size, depth, aliases, cost, introspection.

Every page of the schema is bounded (``first``/``last`` count as at most 1000), but a query
can still multiply work: aliases repeat a field, lists nest inside lists, and introspection's
types are cyclic (``__Type.fields.type.fields…``). Each limit refuses the operation before
anything runs, with a stable ``extensions.code`` and HTTP 400 (docs/security.md):

=====================  ==================================================================
code                   when
=====================  ==================================================================
query_too_large        the text has more than MAX_TOKENS lexical tokens (checked while
                       parsing, so a huge document costs no more than that to refuse)
query_too_deep         fields nest deeper than TOKENPULSE_GRAPHQL_MAX_DEPTH (introspection
                       fields, ``__…``, are left to the cost limit)
too_many_aliases       more aliased fields than TOKENPULSE_GRAPHQL_MAX_ALIASES
introspection_disabled ``__schema``/``__type`` while TOKENPULSE_GRAPHQL_INTROSPECTION=false
query_too_complex      the estimated cost exceeds TOKENPULSE_GRAPHQL_MAX_COST
=====================  ==================================================================

Depth, aliases and introspection are validation rules (their classes are made once per set
of limits, so Strawberry's ValidationCache keeps hitting). The cost needs the variables
(``first: $n``), so it is checked when execution starts.

Cost: every field costs 1; a field with a page argument multiplies what it selects by the
page size it will really serve (``first``/``last``/``limit``, clamped to MAX_PAGE as the
resolvers clamp, the argument's default when absent); any other list multiplies by
LIST_ESTIMATE, except introspection's lists, which count once: graphql-core's
MaxIntrospectionDepthRule already stops their cycles (``fields { type { fields …`` at most 3
deep, refused as query_too_deep), so an introspection answer is bounded by the schema's
size. A 1000-row transfers page with every field and its chain costs ~33,000.
Fragments are measured once each, so spreading a fragment many times cannot blow up the
cost of measuring.
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
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_introspection_type,
)
from graphql.type import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from app.config import Settings

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
MAX_PAGE = 1_000  # what the resolvers clamp first/last to
DEFAULT_PAGE = 25  # a paged field given no size (nor a default): the usual default
LIST_ESTIMATE = 10  # items assumed for a list without a page argument
_INTROSPECTION_DEPTH_MESSAGE = "Maximum introspection depth exceeded"  # graphql-core's rule
PAGE_ARGUMENTS = ("first", "last", "limit", "pageSize")
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
            found = cost(
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


# --- cost (needs the variables) ---


def cost(
    schema: GraphQLSchema,
    document: Any,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The estimated cost of the operation to run (0 when there is none to pick)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or _named(o, operation_name)]
    if len(chosen) != 1:
        return 0  # graphql-core reports the ambiguity itself
    operation = chosen[0]
    root = _root_type(schema, operation.operation)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return Cost(schema, fragments, variables or {}).of(operation.selection_set, root, paged=False)


def _named(operation: OperationDefinitionNode, name: str) -> bool:
    return operation.name is not None and operation.name.value == name


def _root_type(schema: GraphQLSchema, operation: OperationType) -> Any:
    if operation is OperationType.SUBSCRIPTION:
        return schema.subscription_type
    if operation is OperationType.MUTATION:
        return schema.mutation_type
    return schema.query_type


class Cost:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self._memo: dict[tuple[str, bool], int] = {}

    def of(self, selection_set: SelectionSetNode | None, parent: Any, *, paged: bool) -> int:
        total = 0
        for item in selection_set.selections if selection_set else ():
            if isinstance(item, FieldNode):
                total += self._field(item, parent, paged=paged)
            elif isinstance(item, InlineFragmentNode):
                inner = self._type_named(item.type_condition, parent)
                total += self.of(item.selection_set, inner, paged=paged)
            elif isinstance(item, FragmentSpreadNode) and item.name.value in self.fragments:
                total += self._fragment(self.fragments[item.name.value], paged=paged)
        return total

    def _fragment(self, fragment: FragmentDefinitionNode, *, paged: bool) -> int:
        key = (fragment.name.value, paged)
        if key not in self._memo:
            self._memo[key] = 0  # a cycle (refused by validation) counts nothing
            parent = self._type_named(fragment.type_condition, None)
            self._memo[key] = self.of(fragment.selection_set, parent, paged=paged)
        return self._memo[key]

    def _field(self, node: FieldNode, parent: Any, *, paged: bool) -> int:
        definition = _field_definition(self.schema, parent, node.name.value)
        if definition is None or node.selection_set is None:
            return 1
        page = self._page(node, definition)
        named = get_named_type(definition.type)
        if page is not None:
            multiplier = page
        elif _is_list(definition.type) and not is_introspection_type(named):
            multiplier = 1 if paged else LIST_ESTIMATE  # a page's edges/nodes: counted once
        else:
            multiplier = 1
        inner = self.of(node.selection_set, named, paged=page is not None)
        return 1 + multiplier * inner

    def _page(self, node: FieldNode, definition: GraphQLField) -> int | None:
        names = [name for name in PAGE_ARGUMENTS if name in definition.args]
        if not names:
            return None
        given = [self._argument(node, definition, name) for name in names]
        sizes = [size for size in given if size is not None]
        # None of them given (nor defaulted): the resolver's default page.
        return max(min(max(size, 1), MAX_PAGE) for size in sizes) if sizes else DEFAULT_PAGE

    def _argument(self, node: FieldNode, definition: GraphQLField, name: str) -> int | None:
        """The argument's integer value (its default when absent), or None."""
        default = definition.args[name].default_value
        value: object = default
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value, default)
            else:
                value = None  # null, or a literal of another type (refused by validation)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return None  # absent, null or not an integer (refused later if invalid)

    def _type_named(self, condition: Any, fallback: Any) -> Any:
        if condition is None:
            return fallback
        return self.schema.get_type(condition.name.value) or fallback


def _field_definition(schema: GraphQLSchema, parent: Any, name: str) -> GraphQLField | None:
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    fields = getattr(parent, "fields", None)
    if not isinstance(fields, Mapping):
        return None
    found = fields.get(name)
    return found if isinstance(found, GraphQLField) else None


def _is_list(kind: Any) -> bool:
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)
