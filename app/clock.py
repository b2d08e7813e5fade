"""The one place the app reads the time.

Everything that asks "what time is it" (publishing, scheduling, expiring validators, the
response cache's view of what has gone live) calls ``utcnow()``, so that a test can move
time forward with ``advance()`` instead of waiting for the wall clock.
"""

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def utcnow() -> datetime:
    """The current time in UTC, as this process sees it."""
    return datetime.now(UTC) + _offset


def advance(by: timedelta) -> None:
    """Move this process's clock forward (tests only: scheduled content goes live)."""
    global _offset
    _offset += by


def reset() -> None:
    """Back to the wall clock."""
    global _offset
    _offset = timedelta(0)
