"""Process output without personal data: what a gateway or worker writes to stdout and stderr.

The server log goes to log collectors and terminals that are not the signed message log; it must never
hold a BSN, a name, a phone number or an e-mail address. Messages of our own code carry codes, correlation
ids, operation names and counts only. The danger is other people's text in a traceback: SQLAlchemy puts
the SQL parameters in its exceptions (hidden by ``hide_parameters`` in ``store.db``), and the database
driver puts row values in its messages (PostgreSQL: ``DETAIL: Failing row contains (…)``, ``Key (…)=(…)``).

So an error is written as its *trace*: the chain of exception types with the frames they passed
(file, line, function), never an exception's message or arguments. ``VeiligeOpmaak`` applies this to
every record a handler formats with ``exc_info``, so a ``log.exception`` anywhere (ours, a library's,
gunicorn's) cannot print a message either.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType
from typing import Any

OptExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def spoor(exc: BaseException) -> str:
    """``exc`` and its causes as types and frames, without their messages."""
    regels: list[str] = []
    gezien: set[int] = set()
    huidig: BaseException | None = exc
    while huidig is not None and id(huidig) not in gezien:
        gezien.add(id(huidig))
        soort = type(huidig)
        regels.append(f"{soort.__module__}.{soort.__qualname__}")
        for frame in traceback.extract_tb(huidig.__traceback__):
            regels.append(f"  at {frame.filename}:{frame.lineno} in {frame.name}")
        huidig = huidig.__cause__ or (None if huidig.__suppress_context__ else huidig.__context__)
        if huidig is not None:
            regels.append("caused by / during:")
    return "\n".join(regels)


class VeiligeOpmaak(logging.Formatter):
    """A formatter that writes an exception as its trace (``spoor``), never its message."""

    def formatException(self, ei: Any) -> str:
        exc = ei[1] if isinstance(ei, tuple) else None
        return spoor(exc) if isinstance(exc, BaseException) else ""


def beveilig(logger: logging.Logger) -> None:
    """Give every handler of ``logger`` the safe formatter, keeping its format string."""
    for handler in logger.handlers:
        oud = handler.formatter
        handler.setFormatter(VeiligeOpmaak(oud._fmt if oud else None, oud.datefmt if oud else None))
