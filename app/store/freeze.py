"""Keep ``sql/frozen.sha256``: the sha256 of every merged migration file, append-only.

A merged migration is frozen: databases have applied it, and the ledger holds its hash
(see app/store/migrate.py). tests/unit/test_frozen_migrations.py compares this list with the
files, so an edit fails in CI rather than at the next deploy's migrate.

``python -m app.store.freeze`` (``make freeze``) appends the files not listed yet and never
rewrites a listed line; a changed or deleted listed file is reported and the command fails.
The format is ``sha256sum``'s, relative to ``sql/``: ``cd sql && sha256sum -c frozen.sha256``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from app.store.migrate import sha256_manifest
from app.store.queries import SQL_DIR

FROZEN_NAME = "frozen.sha256"
_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$")


@dataclass(frozen=True, slots=True)
class Drift:
    changed: list[str]  # listed, but the file's hash differs
    missing: list[str]  # listed, but the file is gone
    unlisted: list[str]  # a frozen-kind file not listed yet

    @property
    def broken(self) -> bool:
        return bool(self.changed or self.missing)


def read(path: Path) -> dict[str, str]:
    """{relative path: sha256} from a frozen list; an absent file is an empty list."""
    if not path.exists():
        return {}
    listed: dict[str, str] = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: expected '<sha256>  <path>', got {line!r}")
        listed[match[2]] = match[1]
    return listed


def compare(listed: dict[str, str], actual: dict[str, str]) -> Drift:
    return Drift(
        changed=[name for name, sha in listed.items() if name in actual and actual[name] != sha],
        missing=[name for name in listed if name not in actual],
        unlisted=[name for name in actual if name not in listed],
    )


def freeze(sql_dir: Path = SQL_DIR) -> Drift:
    """Append every unlisted file to the list; returns what was found (before appending)."""
    path = sql_dir / FROZEN_NAME
    actual = sha256_manifest(sql_dir)
    drift = compare(read(path), actual)
    if drift.unlisted:
        with path.open("a", encoding="utf-8") as out:
            out.writelines(f"{actual[name]}  {name}\n" for name in drift.unlisted)
    return drift


def main() -> int:
    drift = freeze()
    for name in drift.unlisted:
        print(f"frozen: {name}")
    for name in drift.changed:
        print(f"CHANGED: sql/{name} differs from its frozen hash; restore it, add a new migration")
    for name in drift.missing:
        print(f"MISSING: sql/{name} is listed as frozen but gone; restore it")
    if not drift.unlisted and not drift.broken:
        print(f"sql/{FROZEN_NAME} is up to date")
    return 1 if drift.broken else 0


if __name__ == "__main__":
    sys.exit(main())
