"""app.store.queries.parse: named blocks, in order, stripped; duplicates refused."""

from __future__ import annotations

import pytest

from app.store import queries

TEXT = """\
-- A preamble comment belongs to no query.

-- name: first
select 1;

-- name: second_one
-- A comment inside a query stays with it.
select *
from t
where x = %(x)s;
"""


def test_parse_splits_named_blocks() -> None:
    parsed = queries.parse(TEXT)
    assert list(parsed) == ["first", "second_one"]
    assert parsed["first"] == "select 1;"
    assert parsed["second_one"].startswith("-- A comment inside a query stays with it.")
    assert parsed["second_one"].endswith("where x = %(x)s;")


def test_parse_of_text_without_names_is_empty() -> None:
    assert queries.parse("select 1;\n") == {}
    assert queries.parse("") == {}


def test_parse_refuses_duplicate_names() -> None:
    with pytest.raises(ValueError, match="duplicate query name"):
        queries.parse("-- name: a\nselect 1;\n-- name: a\nselect 2;\n")


def test_name_marker_must_be_a_whole_line() -> None:
    # "-- name:" inside a line, or with extra words, is a comment, not a new query.
    parsed = queries.parse("-- name: a\nselect 1; -- name: b\n-- name: c d\n")
    assert list(parsed) == ["a"]


@pytest.mark.parametrize(
    "entity", sorted(path.stem for path in (queries.SQL_DIR / "queries").glob("*.sql"))
)
def test_every_queries_file_parses(entity: str) -> None:
    loaded = queries.load(entity)
    assert loaded, f"sql/queries/{entity}.sql defines no query"
    assert all(body.strip() for body in loaded.values())
    assert queries.load(entity) is loaded  # loaded once
