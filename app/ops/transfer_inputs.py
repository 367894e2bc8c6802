"""Validation of the transfers API's inputs, shared by REST and GraphQL.

Every refusal is a 400 with a stable code and the offending input's name in ``field`` (REST:
``{"error": {"code", "message", "field"}}``; GraphQL: ``extensions.code`` and
``extensions.field``). The classes extend app.errors.InvalidInput::

    InvalidInput                    code=invalid_input       (400, app.errors)
    ├── InvalidAddress              code=invalid_address     not 0x + 40 hex digits
    ├── InvalidTxHash               code=invalid_tx_hash     not 0x + 64 hex digits
    ├── InvalidChain                code=invalid_chain       not a chain id, or not configured
    ├── InvalidBlockRange           code=invalid_block_range not a block number, or from > to
    ├── InvalidTimeRange            code=invalid_time_range  since not before until
    ├── InvalidValueRange           code=invalid_value_range not a uint256, or min > max
    ├── InvalidCursor               code=invalid_cursor      malformed, altered, or another query's
    ├── InvalidPage                 code=invalid_page        not an integer >= 1
    ├── InvalidPageSize             code=invalid_page_size   not an integer (or negative in GraphQL)
    ├── InvalidSort                 code=invalid_sort        not asc/desc
    └── InvalidQuery                code=invalid_query       a search that is none of the kinds

Sizes are clamped, never refused for being large: REST ``pageSize`` as the legacy API did
(missing, 0 or negative: 25; above 100: 100), GraphQL ``first``/``last`` to 1000.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.config import Config
from app.domain import ADDRESS_RE, TX_HASH_RE, Chain
from app.errors import InvalidInput

MAX_UINT256 = 2**256 - 1
MAX_BLOCK = 2**62  # far beyond any chain, well inside bigint


class InvalidAddress(InvalidInput):
    """Invalid address: expected 0x and 40 hex digits."""

    code = "invalid_address"


class InvalidTxHash(InvalidInput):
    """Invalid transaction hash: expected 0x and 64 hex digits."""

    code = "invalid_tx_hash"


class InvalidChain(InvalidInput):
    """Unknown chain."""

    code = "invalid_chain"


class InvalidBlockRange(InvalidInput):
    """Invalid block range."""

    code = "invalid_block_range"


class InvalidTimeRange(InvalidInput):
    """Invalid time range."""

    code = "invalid_time_range"


class InvalidValueRange(InvalidInput):
    """Invalid value range."""

    code = "invalid_value_range"


class InvalidCursor(InvalidInput):
    """Invalid cursor."""

    code = "invalid_cursor"


class InvalidPage(InvalidInput):
    """Invalid page: expected an integer of at least 1."""

    code = "invalid_page"


class InvalidPageSize(InvalidInput):
    """Invalid page size."""

    code = "invalid_page_size"


class InvalidSort(InvalidInput):
    """Invalid sort: expected asc or desc."""

    code = "invalid_sort"


class InvalidQuery(InvalidInput):
    """Invalid search query."""

    code = "invalid_query"


def address(raw: str, field: str) -> str:
    """A lowercase address, or InvalidAddress."""
    if not ADDRESS_RE.match(raw):
        raise InvalidAddress(
            f"{field}: {_show(raw)} is not an address (0x and 40 hex digits)", field=field
        )
    return raw.lower()


def tx_hash(raw: str, field: str) -> str:
    if not TX_HASH_RE.match(raw):
        text = f"{field}: {_show(raw)} is not a transaction hash (0x and 64 hex digits)"
        raise InvalidTxHash(text, field=field)
    return raw.lower()


def chain(config: Config, chain_id: int, field: str = "chainId") -> Chain:
    """A configured chain, or InvalidChain listing the known ids."""
    for item in config.chains:
        if item.id == chain_id:
            return item
    known = ", ".join(str(item.id) for item in config.chains)
    raise InvalidChain(f"{field}: unknown chain {chain_id} (known: {known})", field=field)


def block(value: int, field: str) -> int:
    if not 0 <= value <= MAX_BLOCK:
        raise InvalidBlockRange(f"{field}: {value} is not a block number", field=field)
    return value


def block_range(low: int | None, high: int | None, fields: tuple[str, str]) -> None:
    if low is not None and high is not None and low > high:
        text = f"{fields[0]} ({low}) cannot be greater than {fields[1]} ({high})"
        raise InvalidBlockRange(text, field=fields[0])


def moment(value: datetime) -> datetime:
    """A time as UTC; a time without a zone is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise InvalidTimeRange("since must be before until", field="since")


def value(raw: int, field: str) -> int:
    if not 0 <= raw <= MAX_UINT256:
        raise InvalidValueRange(f"{field}: {raw} is not a uint256 amount in raw units", field=field)
    return raw


def value_range(low: int | None, high: int | None) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidValueRange("minValue cannot be greater than maxValue", field="minValue")


def size(requested: int | None, *, default: int, maximum: int, field: str) -> int:
    """GraphQL first/last: None is the default, above the maximum is the maximum."""
    if requested is None:
        return default
    if requested < 0:
        raise InvalidPageSize(f"{field} cannot be negative", field=field)
    return min(requested, maximum)


def _show(raw: str) -> str:
    return repr(raw if len(raw) <= 80 else raw[:77] + "...")
