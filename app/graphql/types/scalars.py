"""Custom scalars. GraphQL's Int is 32-bit; chain ids and block numbers outgrow it."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

MAX_SAFE_INTEGER = 2**53 - 1  # the largest integer a JavaScript client reads exactly

SafeInt = NewType("SafeInt", int)


def safe_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"SafeInt cannot represent {value!r}")
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"SafeInt cannot represent {value}: beyond ±(2^53 - 1)")
    return value


SCALAR_MAP: dict[object, ScalarDefinition] = {
    SafeInt: strawberry.scalar(
        name="SafeInt",
        description="An integer within ±(2^53 - 1), sent as a JSON number: exact in JavaScript.",
        specified_by_url="https://the-guild.dev/graphql/scalars/docs/scalars/safe-int",
        serialize=safe_int,
        parse_value=safe_int,
    )
}
