"""Moments in UTC, the one zone the gateway computes, stores and sends in."""

from __future__ import annotations

from datetime import UTC, datetime


def in_utc(tijdstip: datetime) -> datetime:
    """``tijdstip`` as an aware moment in UTC: a naive one (as SQLite gives it back) is UTC already, an aware one
    with another offset is converted."""
    return tijdstip.replace(tzinfo=UTC) if tijdstip.tzinfo is None else tijdstip.astimezone(UTC)
