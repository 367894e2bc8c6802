"""The estimated cost of a GraphQL operation (the query_too_complex limit of app.graphql.limits).

Every field costs 1; a field with a page argument multiplies what it selects by the
page size it will really serve (``first``/``last``/``limit``, clamped to MAX_PAGE as the
resolvers clamp, the argument's default when absent); any other list multiplies by
LIST_ESTIMATE, except introspection's lists, which count once: graphql-core's
MaxIntrospectionDepthRule already stops their cycles (``fields { type { fields …`` at most 3
deep, refused as query_too_deep), so an introspection answer is bounded by the schema's
size. A 1000-row transfers page of 9 fields and its chain's name costs 14,001.
Fragments are measured once each, so spreading a fragment many times cannot blow up the
cost of measuring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_introspection_type,
)
from graphql.type import SchemaMetaFieldDef, TypeMetaFieldDef

MAX_PAGE = 1_000  # what the resolvers clamp first/last to
DEFAULT_PAGE = 25  # a paged field given no size (nor a default): the usual default
LIST_ESTIMATE = 10  # items assumed for a list without a page argument
PAGE_ARGUMENTS = ("first", "last", "limit", "pageSize")


def of_operation(
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
