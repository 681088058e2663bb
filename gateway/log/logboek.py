"""The gateway's side of the message log: what to log for a request, a rejection or an operator
action, and when to sign a checkpoint."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.errors import GatewayError, ServerError
from gateway.log import redactie
from gateway.log.checkpoint import CheckpointData, Signer, ensure_development_keys, load_signer
from gateway.log.redactie import Redactie
from gateway.log.regel import Logregel, tijdstempel
from gateway.log.writer import (
    Append,
    Gaten,
    GeenAppend,
    Integratie,
    Ontvangstbewijs,
    append,
    integreer,
    vul_gaten,
)
from store import logboek as opslag
from store.db import Database, DatabaseUnavailable
from store.logboek import Selectie
from store.models import Checkpoint

log = logging.getLogger(__name__)

INTEGRATIE_SECONDEN = 0.25
"""How often a gateway process at most runs the sequencer after a request (when entries come from a sequence)."""


def plus_jaren_tijd(t: datetime, jaren: int) -> datetime:
    """``t`` moved by whole years (29 February becomes 28 February in a common year)."""
    try:
        return t.replace(year=t.year + jaren)
    except ValueError:
        return t.replace(year=t.year + jaren, day=28)


def key_paths(settings: Settings) -> tuple[Path, Path, bool]:
    """(key, certificate, generated now) for signing checkpoints."""
    if settings.log_key and settings.log_cert:
        # log_key may be a pkcs11: URI (gateway/log/token.py) rather than a file.
        return settings.log_key, settings.log_cert, False
    if not settings.development:
        raise ServerError("VIR_LOG_KEY and VIR_LOG_CERT are required outside development mode")
    return ensure_development_keys(settings.data_dir / "keys", f"vir-gateway {settings.gateway_oin}")


class Logboek:
    def __init__(self, settings: Settings, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.db = db
        self.aan = not settings.bench_zonder_log
        key, cert, _ = key_paths(settings)
        self.cert_path = cert
        self.signer: Signer = load_signer(key, cert)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._volgende_controle = 0.0
        self._volgende_integratie = 0.0
        self.gaten = Gaten()
        if not db.is_sqlite:
            db.na_terugdraai = self._na_terugdraai

    def _na_terugdraai(self, info: dict[object, object]) -> None:
        """A transaction that took entry numbers did not commit: fill them with gap entries at once."""
        nummers = info.get(opslag.GENOMEN)
        if not isinstance(nummers, list) or not nummers:
            return
        try:
            with self.db.transaction() as session:
                vul_gaten(session, nummers)
        except (SQLAlchemyError, GatewayError, DatabaseUnavailable):
            log.error("could not fill %d unused log entry numbers (the sequencer fills them later)", len(nummers))

    def nu(self) -> str:
        return tijdstempel(self.clock())

    def open(self, session: Session) -> Append | GeenAppend:
        """An append inside the caller's transaction: entries are added one by one, each returning its
        receipt, and written with the head on ``close`` (the last thing before the commit)."""
        return Append(session) if self.aan else GeenAppend()

    def schrijf(
        self, session: Session, regels: Sequence[Logregel | Callable[[list[Ontvangstbewijs]], Logregel]]
    ) -> list[Ontvangstbewijs]:
        """Append inside the caller's transaction (the last thing before it commits)."""
        if not self.aan:
            return [Ontvangstbewijs(-1, b"\0" * 32) for _ in regels]
        return append(session, regels)

    def afwijzing(
        self,
        verzoek: bytes,
        operatie: str,
        actor: str,
        bericht_id: str | None,
        fout: bytes,
        error: GatewayError,
        correlatie_id: str,
    ) -> None:
        """A rejected request and its fault, in a transaction of their own (the work rolled back)."""
        if not self.aan:
            return
        t = self.nu()
        try:
            with self.db.transaction() as session:
                append(
                    session,
                    [
                        Logregel(
                            t, "inkomend", operatie, actor, verzoek, bericht_id=bericht_id, correlatie_id=correlatie_id
                        ),
                        Logregel(
                            t,
                            "fout",
                            operatie,
                            actor,
                            fout,
                            kruisverwijzing=bericht_id,
                            foutcode=error.code,
                            correlatie_id=correlatie_id,
                        ),
                    ],
                )
        except (GatewayError, DatabaseUnavailable):
            log.error("could not log rejection %s [correlatie %s]", error.code, correlatie_id)
        self.misschien_checkpoint()

    def bewaartermijn(self, nu: datetime) -> Redactie | None:
        """Remove the payloads older than the log retention (``log_bewaar_jaren``) as one logged
        redaction, and sign a checkpoint over it. None when nothing was due."""
        if not self.aan:
            return None
        grens = tijdstempel(plus_jaren_tijd(nu, -self.settings.log_bewaar_jaren))
        with self.db.transaction() as session:
            if redactie.iets_te_redigeren(session, Selectie(voor=grens)) is None:
                return None
            r = redactie.redigeer(
                session,
                waar=Selectie(voor=grens),
                reden="bewaartermijn",
                actor="onderhoud",
                tijdstip=self.nu(),
                context={"voor": grens},
            )
        self.checkpoint(force=True)
        return r

    # --- checkpoints ------------------------------------------------------------------------

    def misschien_checkpoint(self) -> None:
        """Cheap to call after every request: runs the sequencer at most every ``INTEGRATIE_SECONDEN`` (unless
        another process is at it), and looks whether a checkpoint is due at most once a second."""
        if not self.aan:
            return
        now = time.monotonic()
        with self._lock:
            checkpoint = now >= self._volgende_controle
            integratie = not checkpoint and not self.db.is_sqlite
            if checkpoint:
                self._volgende_controle = now + min(1.0, self.settings.checkpoint_seconden)
                self._volgende_integratie = now + INTEGRATIE_SECONDEN
            elif integratie and now >= self._volgende_integratie:
                self._volgende_integratie = now + INTEGRATIE_SECONDEN
            else:
                return
        try:
            if checkpoint:
                self.checkpoint(force=False, wachten=False)
            else:
                self.integreer(wachten=False)
        except (GatewayError, DatabaseUnavailable):
            log.error("could not extend the log's tree or sign a checkpoint")

    def integreer(self, *, wachten: bool = True) -> Integratie | None:
        """Run the sequencer in a transaction of its own (``gateway/log/writer.py``): the committed entries
        after the tree's end into the tree. None when ``wachten`` is false and another process holds the head."""
        with self.db.transaction() as session:
            if not wachten and not opslag.iets_wachtend(session):
                return None  # nothing to do: no lock taken (on PostgreSQL a row lock is a write)
            return integreer(session, wachten=wachten, gaten=self.gaten)

    def _checkpoint_misschien_nodig(self) -> bool:
        """Whether the log may have grown enough, or its last checkpoint be old enough, for a new checkpoint;
        read in a transaction that only reads. The checkpoint itself takes the head (on SQLite the write lock):
        taking it only to find nothing due made a worker wait behind another's whole batch once a second."""
        with self.db.transaction(write=False) as session:
            laatste = opslag.laatste_checkpoint(session)
            if laatste is None:
                return True
            hoofd, hoogste = opslag.hoofd_en_hoogste(session)
            grootte = max(hoofd.grootte, -1 if hoogste is None else hoogste + 1)  # entries not yet in the tree too
            if grootte <= laatste.grootte:
                return False
            leeftijd = (self.clock() - datetime.fromisoformat(laatste.tijdstip)).total_seconds()
            return grootte - laatste.grootte >= self.settings.checkpoint_regels or (
                leeftijd >= self.settings.checkpoint_seconden
            )

    def checkpoint(self, *, force: bool, wachten: bool = True) -> Checkpoint | None:
        """Sign a checkpoint of the current tree when due (or when ``force``) and the tree grew; the
        committed entries not yet in the tree are taken into it first. ``wachten=False`` (after a request):
        when another transaction holds the head, leave it for the next time instead of waiting."""
        if not force and not self._checkpoint_misschien_nodig():
            return None
        with self.db.transaction() as session:
            integratie = integreer(session, wachten=wachten, gaten=self.gaten)
            if integratie is None:
                return None
            head = integratie.hoofd
            laatste = opslag.laatste_checkpoint(session)
            if head.grootte == 0 or (laatste is not None and laatste.grootte >= head.grootte):
                return None
            if not force and laatste is not None:
                gegroeid = head.grootte - laatste.grootte
                leeftijd = (self.clock() - datetime.fromisoformat(laatste.tijdstip)).total_seconds()
                if gegroeid < self.settings.checkpoint_regels and leeftijd < self.settings.checkpoint_seconden:
                    return None
            data = CheckpointData(self.settings.gateway_oin, head.grootte, head.wortel, self.nu())
            return opslag.bewaar_checkpoint(session, data.grootte, data.wortel, data.tijdstip, self.signer.sign(data))
