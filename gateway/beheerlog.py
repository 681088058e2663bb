"""Operator commands in the signed message log: each change and its entry in one transaction (NEN 7513).

Every operator command that changes something (an instantie, its profile, a peer, the population register,
a dead delivery, a retention run) or shows management information writes an entry naming the operator:
``VIR_OPERATOR``, else the login name of the process. A change is written together with its ``beheer``
entry or not at all; a read (``inzage``) is logged before anything is shown.

When the entry cannot be written (no log key outside development mode, the log switched off for a
benchmark, a log write that fails) the command changes nothing, shows nothing, says why on stderr and
exits with ``EXIT_NIET_GELOGD``:

    0   done
    1   refused: nothing to do (unknown instantie, already registered, …)
    2   wrong usage or refused input
    3   refused: the action could not be logged; nothing changed

    Geweigerd          a command refuses; nothing changed (its exit code and message)
    └── NietGelogd     …because the log entry cannot be written (exit code 3)
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel
from store.db import Database

EXIT_NIET_GELOGD = 3


class Geweigerd(Exception):
    """An operator command refuses; raised inside ``actie`` it rolls the change back."""

    def __init__(self, bericht: str, exit_code: int = 1) -> None:
        super().__init__(bericht)
        self.bericht = bericht
        self.exit_code = exit_code

    def meld(self) -> int:
        """Say why on stderr; the command's exit code."""
        print(f"refused: {self.bericht}", file=sys.stderr)
        return self.exit_code


class NietGelogd(Geweigerd):
    def __init__(self, waarom: str) -> None:
        super().__init__(f"the action cannot be logged ({waarom}); nothing changed", EXIT_NIET_GELOGD)


def operator(settings: Settings) -> str:
    """Who is at the keyboard: ``VIR_OPERATOR``, else the process's login name."""
    if settings.operator:
        return settings.operator
    try:
        return getpass.getuser()
    except (KeyError, OSError) as exc:  # no login name for this uid
        raise NietGelogd("no operator: set VIR_OPERATOR") from exc


def logboek(settings: Settings, db: Database) -> Logboek:
    """The message log an operator command writes to, or ``NietGelogd``."""
    if settings.bench_zonder_log:
        raise NietGelogd("the message log is switched off by VIR_BENCH_ZONDER_LOG")
    try:
        return Logboek(settings, db)
    except GatewayError as exc:
        raise NietGelogd(exc.detail or exc.code) from exc
    except (OSError, ValueError) as exc:
        raise NietGelogd(f"the log key cannot be read: {type(exc).__name__}") from exc


@dataclass
class Actie:
    """One operator action inside its transaction: set ``inhoud`` to what the entry records."""

    session: Session
    inhoud: dict[str, Any] = field(default_factory=dict)


@contextmanager
def actie(settings: Settings, db: Database, operatie: str, *, soort: str = "beheer") -> Iterator[Actie]:
    """The change made in the block and its log entry commit together; ``Geweigerd`` or any error inside
    rolls both back. The log and the operator are settled before the block runs."""
    boek = logboek(settings, db)
    wie = operator(settings)
    with db.transaction() as s:
        a = Actie(s)
        yield a
        payload = json.dumps(a.inhoud, ensure_ascii=False, sort_keys=True, default=str).encode()
        try:
            boek.schrijf(s, [Logregel(boek.nu(), soort, operatie, wie, payload)])
        except Exception as exc:
            raise NietGelogd(f"writing the entry failed: {type(exc).__name__}") from exc
    boek.misschien_checkpoint()
