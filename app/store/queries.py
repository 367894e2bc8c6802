"""Named queries loaded once from ``sql/queries/<entity>.sql``.

A file holds blocks that start with ``-- name: <query_name>``; the text up to the next such
line is the query. Loading at import time means a missing query fails at start, not mid-request.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import LiteralString, cast

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def parse(text: str) -> dict[str, LiteralString]:
    """Split a queries file into {name: query}; pure, for tests."""
    parts = _NAME.split(text)
    names, bodies = parts[1::2], parts[2::2]
    if len(set(names)) != len(names):
        raise ValueError("duplicate query name")
    # The files are part of the code base, not user input: treating them as literals is safe.
    return {
        name: cast(LiteralString, body.strip()) for name, body in zip(names, bodies, strict=True)
    }


@cache
def load(entity: str) -> dict[str, LiteralString]:
    return parse((SQL_DIR / "queries" / f"{entity}.sql").read_text("utf-8"))
