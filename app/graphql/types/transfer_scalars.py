"""BigInt: token amounts in raw units, as decimal strings (uint256 outgrows every JSON number)."""

from __future__ import annotations

import re
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

BigInt = NewType("BigInt", int)
_DIGITS = re.compile(r"^-?[0-9]{1,80}$")


def serialize(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"BigInt cannot represent {value!r}")
    return str(value)


def parse(value: object) -> int:
    """A decimal string (or a JSON integer) of at most 80 digits, sign allowed."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    raise ValueError(f"BigInt expects a decimal string of digits, got {value!r}")


SCALARS: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description=(
            'An integer of any size as a decimal string, e.g. "1000000000000000000":'
            " token amounts in raw units (numeric(78,0) in the store)."
        ),
        serialize=serialize,
        parse_value=parse,
    )
}
