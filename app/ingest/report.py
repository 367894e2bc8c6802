"""What one ingestion run did, for logs, ``ingest_status.last_cycle`` and the CLI."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class SyncReport:
    """One sync_tip cycle or one backfill run of one chain.

    ``from_block``/``to_block`` are the range the run set out to cover (empty when
    ``to_block < from_block``); ``covered_to`` is the chain's highest covered block after
    the run.
    """

    chain_id: int
    from_block: int = 0
    to_block: int = -1
    inserted: int = 0  # new rows (a row seen before is not counted)
    rejected: int = 0  # upstream items refused by the parsers (never stored)
    skipped_erc721: int = 0  # same topic0 but 4 topics: not an ERC-20 transfer
    reorged_blocks: int = 0  # blocks rewound by the reorg check (0: none)
    calls: int = 0  # upstream requests asked for (the gateway's retries not counted)
    duration_s: float = 0.0
    head: int | None = None
    safe_head: int | None = None
    windows: int = 0  # windows fetched
    unsealed_windows: int = 0  # windows left uncovered (rejections, inconsistent pages)
    covered_to: int | None = None
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # why windows were left uncovered

    @property
    def complete(self) -> bool:
        """Whether every window of the range was sealed (covered)."""
        return self.unsealed_windows == 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected_by_reason"] = dict(self.rejected_by_reason)
        data["complete"] = self.complete
        data["duration_s"] = round(self.duration_s, 3)
        return data
