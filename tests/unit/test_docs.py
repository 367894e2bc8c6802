"""docs/configuration.md documents every setting and chains-file key, with true defaults.

Model: datasette's tests/test_docs.py (every setting must appear in the docs).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app import config
from app.domain import FinalityKind, ProviderKind
from tests.conftest import TEST_ENV

DOCS = Path(__file__).resolve().parents[2] / "docs"
CONFIG_DOC = DOCS / "configuration.md"
_HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


def sections(text: str) -> dict[str, str]:
    """{heading text: body up to the next heading}."""
    parts = _HEADING.split(text)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def table(body: str) -> dict[str, list[str]]:
    """The rows of the first table in ``body``, by their first cell without backticks."""
    rows: dict[str, list[str]] = {}
    lines = [line for line in body.splitlines() if line.startswith("|")]
    for line in lines[2:]:  # header and separator
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows[cells[0].strip("`")] = cells
    return rows


@pytest.fixture(scope="module")
def doc() -> dict[str, str]:
    return sections(CONFIG_DOC.read_text("utf-8"))


def _shown(default: object) -> str:
    """How the docs show a default value."""
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


@pytest.mark.parametrize("field", list(config.Settings.model_fields))
def test_every_setting_is_documented(doc: dict[str, str], field: str) -> None:
    rows = table(doc["Environment settings"])
    variable = config.ENV_PREFIX + field.upper()
    assert variable in rows, f"{variable} is missing from docs/configuration.md"
    default = config.Settings.model_fields[field].default
    assert rows[variable][2] == _shown(default), f"{variable}: the documented default is wrong"
    assert rows[variable][3], f"{variable}: say what it means"


def test_no_stale_settings_are_documented(doc: dict[str, str]) -> None:
    fields = {config.ENV_PREFIX + name.upper() for name in config.Settings.model_fields}
    assert set(table(doc["Environment settings"])) - fields == set()


def test_api_key_variables_are_documented(doc: dict[str, str]) -> None:
    used = {chain.api_keys_env for chain in config.load(TEST_ENV).chains if chain.api_keys_env}
    assert used <= set(table(doc["API keys"]))


@pytest.mark.parametrize(
    ("heading", "keys"),
    [("`[token]`", config.TOKEN_KEYS), ("`[[chains]]`", config.CHAIN_KEYS)],
)
def test_every_chains_file_key_is_documented(
    doc: dict[str, str], heading: str, keys: frozenset[str]
) -> None:
    documented = table(doc[heading])
    assert set(documented) == set(keys), f"docs/configuration.md {heading} is out of date"
    assert all(row[-1] for row in documented.values())


def test_documented_keys_are_the_keys_the_loader_reads() -> None:
    # Every raw.get("key") in app/config.py must be a known (and so documented) key.
    tree = ast.parse(Path(config.__file__).read_text("utf-8"))
    read = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "raw"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert read == config.TOKEN_KEYS | config.CHAIN_KEYS


def test_provider_and_finality_values_are_documented(doc: dict[str, str]) -> None:
    rows = table(doc["`[[chains]]`"])
    for kind in ProviderKind:
        assert f"`{kind.value}`" in rows["provider"][1]
    for finality in FinalityKind:
        shown = "depth:N" if finality is FinalityKind.DEPTH else finality.value
        assert f"`{shown}`" in rows["finality"][1]


def test_schema_modes_are_documented(doc: dict[str, str]) -> None:
    assert "**timescale**" in doc["Schema modes"]
    assert "**portable**" in doc["Schema modes"]


def test_readme_quick_start_is_exactly_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text("utf-8")
    quick_start = sections(readme)["Quick start"]
    blocks = re.findall(r"```sh\n(.*?)```", quick_start, re.DOTALL)
    assert blocks == ["make demo\nmake test\n"]


LINKED_DOCS = [
    "README.md",
    *(f"docs/{name}.md" for name in ("configuration", "architecture", "runbook")),
]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("name", LINKED_DOCS)
def test_relative_links_point_at_files(name: str) -> None:
    path = DOCS.parent / name
    for target in _LINK.findall(path.read_text("utf-8")):
        if "://" not in target:
            assert (path.parent / target).exists(), f"{name} links to missing {target}"
