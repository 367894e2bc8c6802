"""Analytics ranges: ``7d | 30d | 90d | all | custom`` + now -> the days of a window.

Days are UTC calendar days; a period is half-open, [start, end), in days. A ``7d`` window
covers seven calendar days ending with today (legacy-api.md §5: today 00:00 - 6 days up to the
end of today), so today is a partial day until midnight. The previous period is the period of
the same length just before the window; ``all`` has neither bounds nor a previous period.
A custom window is given as first and last day, both inclusive, and may not reach past today.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app import errors

MAX_CUSTOM_DAYS = 731  # two years: dailyData stays a few hundred entries


class RangeName(enum.StrEnum):
    D7 = "7d"
    D30 = "30d"
    D90 = "90d"
    ALL = "all"
    CUSTOM = "custom"


_FIXED_DAYS = {RangeName.D7: 7, RangeName.D30: 30, RangeName.D90: 90}


@dataclass(frozen=True, slots=True)
class Period:
    """Days [start, end): ``end`` is the first day not included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC timestamps [start 00:00, end 00:00), for SQL."""
        return _midnight(self.start), _midnight(self.end)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True, slots=True)
class Window:
    name: RangeName
    today: date  # the UTC day of ``now``; it is partial when the window reaches it
    period: Period | None  # None for ``all``: from the first stored day up to today
    previous: Period | None  # None for ``all``

    @property
    def end(self) -> date:
        return self.period.end if self.period else self.today + timedelta(days=1)

    def bounds(self) -> tuple[datetime | None, datetime]:
        """[start, end) as UTC timestamps; start is None for ``all`` (no lower bound)."""
        start = _midnight(self.period.start) if self.period else None
        return start, _midnight(self.end)


def parse_legacy(value: str | None) -> RangeName:
    """The legacy ``timeRange`` parameter: anything but 7d/30d/90d/all falls back to 30d."""
    try:
        name = RangeName(value or "")
    except ValueError:
        return RangeName.D30
    return RangeName.D30 if name is RangeName.CUSTOM else name


def resolve(
    name: RangeName, now: datetime, first: date | None = None, last: date | None = None
) -> Window:
    """The window of ``name`` at ``now``; ``first``/``last`` (inclusive) only for custom."""
    today = now.astimezone(UTC).date()
    if name is RangeName.ALL:
        return Window(name, today, None, None)
    if name is RangeName.CUSTOM:
        period = _custom(first, last, today)
    else:
        period = Period(today - timedelta(days=_FIXED_DAYS[name] - 1), today + timedelta(days=1))
    previous = Period(period.start - timedelta(days=period.days), period.start)
    return Window(name, today, period, previous)


def _custom(first: date | None, last: date | None, today: date) -> Period:
    if first is None or last is None:
        raise errors.InvalidInput("a custom range needs its first and last day", field="range")
    if last < first:
        raise errors.InvalidInput("the last day is before the first day", field="end")
    if last > today:
        raise errors.InvalidInput("a custom range cannot end after today (UTC)", field="end")
    period = Period(first, last + timedelta(days=1))
    if period.days > MAX_CUSTOM_DAYS:
        raise errors.InvalidInput(
            f"a custom range spans at most {MAX_CUSTOM_DAYS} days", field="start"
        )
    return period


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
