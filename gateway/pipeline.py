"""The request pipeline both SOAP services run on: one operation, one transaction.

A service declares its operations once (``Operatie``: request class, response class, handler, mutating or
not) in a ``Dienst``; every Spyne method calls ``Dienst.uitvoeren``, which reads top to bottom:

    1. the message is addressed to this gateway (``stuurgegevens/ontvanger``); what the operation can read of
       the request alone (``Operatie.lezen``: a filing's youth and professional) is read before the
       transaction begins, so not while the write lock is held
    2. the sender is authenticated against the store (an active instantie, or an active peer)
    3. a mutating operation claims (sender, berichtId); a retry gets the stored answer, logged again
    4. the handler does the work and returns the answer; the index writes what it collected (signals,
       counts); a refusal that names a field of the request gets the contract's XPath of that field
    5. the log: the request entry (its receipt goes into the answer), any access entries (NEN 7513), the
       answer entry; the answer is rendered once, and those bytes are logged, stored for a retry and sent

All of it commits together or not at all. Errors become faults in one place (``_als_fout``).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from lxml import etree
from spyne.util.xml import get_xml_as_object
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from gateway import berichten as B
from gateway.config import Settings
from gateway.domain.regels import Regels
from gateway.errors import GatewayError, RuleError, ServerError, StoreError
from gateway.index import Verwijsindex
from gateway.log import uitwissing
from gateway.log.logboek import Logboek, key_paths
from gateway.log.regel import Logregel
from gateway.log.token import TokenSleutel
from gateway.log.writer import Ontvangstbewijs
from gateway.protocol import RequestInfo, VirFault, info
from gateway.render import als_tekst
from gateway.sleutels import pseudoniemen
from gateway.uitvoer import spoor
from gateway.wss.onderteken import laad_sleutel
from store.db import Database, DatabaseUnavailable
from store.outbox import Outbox
from store.register import Register
from store.repository import Repository

log = logging.getLogger(__name__)


@contextmanager
def transactie(db: Database, *, write: bool = True) -> Iterator[Session]:
    """``db.transaction``, with a database that does not answer reported as our ``StoreError``."""
    try:
        with db.transaction(write=write) as session:
            yield session
    except DatabaseUnavailable as exc:
        raise StoreError() from exc


@dataclass
class Deps:
    """What the services need, created once per process."""

    settings: Settings
    db: Database
    regels: Regels
    logboek: Logboek
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # The register of instanties and peers this process keeps (``store/register.py``).
    register: Register = field(default_factory=Register, repr=False)

    def repository(self, session: Session) -> Repository:
        """The store of one transaction, reading the register through what this process keeps."""
        return Repository(session, self.register)

    def outbox(self, repo: Repository, nu: datetime) -> Outbox:
        """The federation outbox of one transaction."""
        return Outbox(
            repo.s,
            self.settings.systeem,
            self.settings.federatie_hub,
            nu,
            peers=repo.actieve_peers,
            pseudoniem=pseudoniemen(self.settings),
        )

    _wss_profielen: dict[tuple[str, bool], tuple[float, tuple[bytes | None, bool] | None]] = field(
        default_factory=dict, repr=False
    )

    def wss_profiel(self, oin: str | None, *, peer: bool = False) -> tuple[bytes | None, bool] | None:
        """The sender's registered signing certificate (PEM) and whether it must sign its requests: an
        instantie's, or with ``peer`` an active peer's. None when ``peer`` and the OIN is no active peer's:
        the federation service then refuses the sender with its own fault code, signed or not.

        Read at most once per ``profiel_cache`` seconds per sender and worker: it is asked before the
        request's own transaction begins, and a transaction of its own for every request cost a tenth of
        a filing. Registration and suspension are still checked in the request's transaction."""
        if oin is None:
            return None, False
        nu = time.monotonic()
        bewaard = self._wss_profielen.get((oin, peer))
        if bewaard is not None and nu - bewaard[0] < self.settings.profiel_cache:
            return bewaard[1]
        profiel = self._lees_wss_profiel(oin, peer)
        if len(self._wss_profielen) > 10_000:
            self._wss_profielen.clear()  # bounded: senders are registered organisations, never many
        self._wss_profielen[(oin, peer)] = (nu, profiel)
        return profiel

    def _lees_wss_profiel(self, oin: str, peer: bool) -> tuple[bytes | None, bool] | None:
        with transactie(self.db, write=False) as s:
            if not peer:
                pem, verplicht = Repository(s).ondertekenprofiel(oin)
                return (pem.encode() if pem else None), verplicht
            actief = [p for p in Repository(s).peers_met_oin(oin) if p.actief]
        if not actief:
            return None
        pem = next((p.certificaat for p in actief if p.certificaat), None)
        streng = self.settings.federatie_wss_verplicht and not self.settings.development
        return (pem.encode() if pem else None), pem is not None or streng

    def gezien(self, message_id: str) -> bool:
        """Record a verified request's MessageID; True when it was recorded before (a replay). Its own
        transaction: a replay stays refused even if the first request failed later on."""
        with transactie(self.db) as s:
            return Repository(s).onthoud_message_id(message_id, datetime.now(UTC)) is False

    @cached_property
    def ondertekening(self) -> tuple[bytes | TokenSleutel, bytes]:
        """Key and certificate (PEM) that sign our answers to signed requests: ``VIR_WSS_KEY``/``VIR_WSS_CERT``,
        else the key that signs log checkpoints. Either key may be a ``pkcs11:`` URI: the key in that token
        (``laad_sleutel``), whose session this process opens on its first signature."""
        s = self.settings
        if s.wss_key is not None and s.wss_cert is not None:
            key, cert = s.wss_key, s.wss_cert
        else:
            key, cert, _ = key_paths(s)
        cert_pem = cert.read_bytes()
        return laad_sleutel(key, cert_pem), cert_pem


@dataclass
class Verzoek:
    """One request inside its transaction, as a handler sees it."""

    deps: Deps
    repo: Repository
    zender: Any  # the authenticated sender: an instantie's Profiel, or a Peer row for the federation service
    nu: datetime
    outbox: Outbox | None  # None for an operation that changes nothing
    info: RequestInfo
    gelezen: Any = None  # what the operation's ``lezen`` read of the request before the transaction

    @cached_property
    def index(self) -> Verwijsindex:
        return Verwijsindex(self.repo, self.deps.regels, self.nu, self.outbox)

    def afronden(self) -> None:
        """Write what the index collected while the handler ran (its signals and counts), and redact at once
        the log payloads of meldingen it ended as ``onterecht`` (a logged redaction naming the sender)."""
        if "index" in self.__dict__:
            self.index.afronden()
            if self.index.te_redigeren and self.deps.logboek.aan:
                self.info.geredigeerd = True
                uitwissing.redigeer_meldingen(
                    self.repo.s,
                    self.index.te_redigeren,
                    reden="onterecht",
                    actor=self.zender.oin,
                    tijdstip=self.deps.logboek.nu(),
                    context={"meldingen": self.index.te_redigeren},
                )

    @property
    def inzage(self) -> list[dict[str, Any]]:
        """What this request showed of youths' matches, for the access log."""
        return self.index.inzage if "index" in self.__dict__ else []


@dataclass(frozen=True)
class Operatie:
    naam: str
    verzoek: Any  # Spyne class of the request element
    antwoord: Any  # Spyne class of the response element
    handler: Callable[[Verzoek, Any], Any]
    muterend: bool
    # What the handler can read of the request alone (deps, request, the request's moment), done before the
    # transaction begins, so not while the write lock is held; the handler finds it as ``Verzoek.gelezen``.
    # It raises nothing: a refusal it finds is part of what it returns, for the handler to raise at its step.
    lezen: Callable[[Deps, Any, datetime], Any] | None = None


@dataclass(frozen=True)
class Afzender:
    """Who sent a request, as the log names it, and the row the handler works with."""

    actor: str
    rij: Any


class _Proef(Exception):
    """Ends a dry run (``BerichtValideren``) after the handler: everything it did is rolled back; what the
    handler read of youths' matches goes along for the access log."""

    def __init__(self, inzage: list[dict[str, Any]]) -> None:
        super().__init__()
        self.inzage = inzage


@dataclass
class Dienst:
    """One SOAP service on the pipeline: its operations and how its senders are authenticated."""

    prefix: str  # the service's namespace prefix in XPaths ("kp", "fed")
    logprefix: str  # prepended to the operation name in the log ("", "federatie:")
    # (repo, operation, request, what the front half learnt) → the sender, or a RuleError
    authenticeer: Callable[[Repository, str, Any, RequestInfo], Afzender]
    # Mutating operations claim (sender, berichtId) for idempotent retries; a service whose messages are
    # idempotent by their own content (the federation: system, meldingId, version) does not.
    claimt: bool = True
    operaties: dict[str, Operatie] = field(default_factory=dict)

    def registreer(self, naam: str, verzoek: Any, antwoord: Any, handler: Callable[[Verzoek, Any], Any]) -> None:
        self.operaties[naam] = Operatie(naam, verzoek, antwoord, handler, muterend=False)

    def registreer_muterend(
        self,
        naam: str,
        verzoek: Any,
        antwoord: Any,
        handler: Callable[[Verzoek, Any], Any],
        lezen: Callable[[Deps, Any, datetime], Any] | None = None,
    ) -> None:
        self.operaties[naam] = Operatie(naam, verzoek, antwoord, handler, muterend=True, lezen=lezen)

    # --- the sequence ---------------------------------------------------------------------------

    def uitvoeren(self, ctx: Any, naam: str, req: Any) -> Any:
        """Entry point of every Spyne method: the operation in one transaction, errors as faults."""
        deps: Deps = ctx.app.vir
        request_info = info(ctx)
        try:
            for poging in (1, 2):
                try:
                    antwoord = self.in_transactie(deps, self.operaties[naam], req, request_info)
                    if request_info.geredigeerd:
                        # A redaction counts for verification once a signed checkpoint covers it.
                        deps.logboek.checkpoint(force=True)
                    deps.logboek.misschien_checkpoint()
                    return antwoord
                except (IntegrityError, OperationalError) as exc:
                    # A concurrent twin committed first (the same berichtId, or two deliveries of the same
                    # new melding): the second round sees its row. Or PostgreSQL broke a deadlock between
                    # two filings on related youths (family matches lock each other's youths): run again.
                    # Anything else repeating here is a bug.
                    deadlock = getattr(getattr(exc, "orig", None), "sqlstate", None) == "40P01"
                    if poging == 2 or (isinstance(exc, OperationalError) and not deadlock):
                        raise
            raise AssertionError("unreachable")
        except Exception as exc:
            raise _als_fout(exc, naam, request_info) from exc

    def in_transactie(
        self, deps: Deps, op: Operatie, req: Any, request_info: RequestInfo, *, proef: bool = False
    ) -> Any:
        """The sequence of the module docstring. ``proef``: run the rules, roll everything back, and return
        what the handler read of youths' matches (for the access log) instead of the answer."""
        sg = req.stuurgegevens
        if sg.ontvanger.oin != deps.settings.gateway_oin:
            raise RuleError(
                code="VIR-ONTVANGER-ONJUIST",
                xpath=f"/{self.prefix}:{op.naam}/{self.prefix}:stuurgegevens/g:ontvanger/g:oin",
            )
        muterend = op.muterend and not proef
        nu = deps.clock()
        logop = f"{self.logprefix}{op.naam}"
        gelezen = op.lezen(deps, req, nu) if op.lezen is not None else None
        try:
            with transactie(deps.db, write=op.muterend or not proef) as session:
                repo = deps.repository(session)
                claimt = muterend and self.claimt
                # The claim first (it also reads the register's counter), but the sender before anything is
                # answered: a suspended or unknown sender never gets a stored answer replayed, and its
                # rejection rolls the claim back.
                claim = (
                    repo.claim_bericht(sg.zender.oin, sg.berichtId, op.naam, request_info.verzoek_hash, nu)
                    if claimt
                    else None
                )
                afzender = self.authenticeer(repo, op.naam, req, request_info)
                if claimt and claim is None:
                    return self._herhaling(deps, session, repo, op, req, request_info)
                verzoek = Verzoek(
                    deps, repo, afzender.rij, nu, deps.outbox(repo, nu) if muterend else None, request_info, gelezen
                )
                try:
                    antwoord = op.handler(verzoek, req)
                except GatewayError as exc:
                    exc.in_bericht(f"/{self.prefix}:{op.naam}", self.prefix)
                    raise
                antwoord.stuurgegevens = stuurgegevens_antwoord(deps, req, nu)
                if proef:
                    raise _Proef(verzoek.inzage)
                verzoek.afronden()
                request_info.antwoord_xml = log_vraag_en_antwoord(
                    deps, session, logop, afzender.actor, request_info, req, antwoord, op.antwoord, verzoek.inzage
                )
                if claim is not None:
                    repo.bewaar_antwoord(claim, request_info.antwoord_xml)
                return antwoord
        except _Proef as klaar:
            return klaar.inzage

    def _herhaling(
        self, deps: Deps, session: Session, repo: Repository, op: Operatie, req: Any, request_info: RequestInfo
    ) -> Any:
        """A berichtId claimed before: the same request gets the stored answer again (and both are logged);
        another request under that berichtId is refused."""
        sg = req.stuurgegevens
        eerder = repo.bericht(sg.zender.oin, sg.berichtId)
        assert eerder is not None
        if eerder.verzoek_hash != request_info.verzoek_hash:
            raise RuleError(
                code="VIR-BERICHTID-HERGEBRUIKT",
                xpath=f"/{self.prefix}:{op.naam}/{self.prefix}:stuurgegevens/g:berichtId",
            )
        antwoord = get_xml_as_object(etree.fromstring(eerder.antwoord), op.antwoord)
        t, logop, actor = deps.logboek.nu(), f"{self.logprefix}{op.naam}", sg.zender.oin
        boek = deps.logboek.open(session)
        boek.add(_inkomend(t, logop, actor, request_info, sg))
        boek.add(
            Logregel(
                t,
                "uitgaand",
                logop,
                actor,
                eerder.antwoord,
                # The answer's own berichtId, as on its first entry: a search by it finds every time it was sent.
                bericht_id=antwoord.stuurgegevens.berichtId,
                kruisverwijzing=sg.berichtId,
                correlatie_id=request_info.correlatie_id,
            )
        )
        boek.close()
        request_info.antwoord_xml = eerder.antwoord
        return antwoord


def _inkomend(t: str, logop: str, actor: str, request_info: RequestInfo, sg: Any) -> Logregel:
    """The request's entry: the bytes as received."""
    return Logregel(
        t,
        "inkomend",
        logop,
        actor,
        request_info.verzoek,
        bericht_id=sg.berichtId,
        correlatie_id=request_info.correlatie_id,
    )


def log_vraag_en_antwoord(
    deps: Deps,
    session: Session,
    logop: str,
    actor: str,
    request_info: RequestInfo,
    req: Any,
    antwoord: Any,
    antwoord_cls: Any,
    inzage: list[dict[str, Any]] | None = None,
    *,
    proef: str | None = None,
) -> bytes:
    """Step 5: the request entry, the access entry (if the request showed matches, or ran the rules of
    operation ``proef`` against the index as a dry run), then the answer with the request's receipt,
    rendered once. Returns the answer's bytes: what is logged is what is sent."""
    sg = req.stuurgegevens
    t = deps.logboek.nu()
    boek = deps.logboek.open(session)
    bewijs = boek.add(_inkomend(t, logop, actor, request_info, sg))
    if inzage or proef:
        boek.add(_inzage(t, logop, request_info, sg, inzage or [], proef))
    if deps.logboek.aan:
        antwoord.stuurgegevens.ontvangstbewijs = ontvangstbewijs_naar_bericht(bewijs)
    payload = als_tekst(antwoord, antwoord_cls)
    boek.add(
        Logregel(
            t,
            "uitgaand",
            logop,
            actor,
            payload,
            bericht_id=antwoord.stuurgegevens.berichtId,
            kruisverwijzing=sg.berichtId,
            correlatie_id=request_info.correlatie_id,
        )
    )
    boek.close()
    return payload


def stuurgegevens_antwoord(deps: Deps, req: Any, nu: datetime) -> Any:
    return B.StuurgegevensAntwoord(
        berichtId=str(uuid.uuid4()),
        tijdstip=nu,
        zender=B.Zender(oin=deps.settings.gateway_oin, applicatie=deps.settings.applicatie),
        ontvanger=B.Ontvanger(oin=req.stuurgegevens.zender.oin),
        kruisverwijzing=req.stuurgegevens.berichtId,
    )


def ontvangstbewijs_naar_bericht(bewijs: Ontvangstbewijs) -> Any:
    return B.Ontvangstbewijs(volgnummer=bewijs.volgnummer, leafHash=base64.b64encode(bewijs.leaf).decode())


def _inzage(
    t: str, logop: str, request_info: RequestInfo, sg: Any, gezien: list[dict[str, Any]], proef: str | None = None
) -> Logregel:
    """The access-log entry of a read of youths' matches (NEN 7513): who (instantie, application, the
    professional when the partner names one), when, and which meldingen and matches were shown; the
    youths themselves only through those pseudonymous ids. ``proef``: the operation whose rules a dry run
    (``BerichtValideren``) checked against the index."""
    wie: dict[str, Any] = {
        "instantie": sg.zender.oin,
        "applicatie": sg.zender.applicatie,
        "gebruiker": sg.gebruiker,
        "geauthenticeerd": request_info.geauthenticeerd,
        "gezien": gezien,
    }
    if proef is not None:
        wie["proef"] = proef
    payload = json.dumps(wie, sort_keys=True).encode()
    return Logregel(
        t, "inzage", logop, sg.zender.oin, payload, bericht_id=sg.berichtId, correlatie_id=request_info.correlatie_id
    )


def _als_fout(exc: Exception, naam: str, request_info: RequestInfo) -> VirFault:
    """The one place where an error becomes a fault: ours as they are, a database that does not answer as
    ``StoreError``, anything else as an internal error with a correlation id (and no payload) in the log."""
    if isinstance(exc, GatewayError):
        return VirFault(exc)
    if isinstance(exc, DatabaseUnavailable):
        return VirFault(StoreError())
    # The trace without messages: a driver's message can quote the row it refused (gateway/uitvoer.py).
    log.error("internal error in %s [correlatie %s]: %s", naam, request_info.correlatie_id, spoor(exc))
    return VirFault(ServerError())
