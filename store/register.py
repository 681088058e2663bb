"""The register a process keeps: the instanties' profiles (with what a filing needs of their profile content)
and the active peers, as long as the ``registerstand`` it reads stays the same.

Every request reads who sent it and, when it files, which peers to forward to and whether its professional
must be designated; these change a few times a year, and reading them cost a fifth of a filing. Triggers raise
``registerstand.versie`` in the transaction of every change to an instantie's identity or profile, to its
profile content and to any peer (migrations 0013 and 0014; ``tests/test_register.py`` changes every column).
A transaction reads the counter once (a filing in the statement that claims its berichtId) and uses what this
process read under that same counter; otherwise it reads the rows again.

Why that is right: a row read after the counter showed ``v`` is at least as new as ``v`` (the change and its
raise of the counter commit together), so a kept row is never older than the counter it is kept under; and a
transaction never keeps what it read under another process-wide counter than its own. The signal counters and
push state of an instantie are not part of a ``Profiel``: they change with the traffic and are read where needed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from store.models import Instantie, Peer, Profielinhoud, Registerstand


@dataclass(frozen=True)
class Profiel:
    """An instantie as the index and the services use it: who it is and its profile (``store/models.py`` says
    what each field means)."""

    id: int
    oin: str
    naam: str
    vestiging: str | None
    actief: bool
    aangemaakt: datetime
    systeem: str | None
    melding_jaren: int | None
    mag_regievoeren: bool
    mag_afschermen: bool
    afschermcontact: str | None
    auto_casustypen: str
    bsn_toegestaan: bool
    callback_url: str | None
    certificaat: str | None
    wss_verplicht: bool
    systeem_inzage: bool | None


@dataclass(frozen=True)
class Inhoudkern:
    """What a filing needs of an instantie's profile content (``profielinhoud``): whether its filers must be
    designated (None: the default of the mode) and its municipality."""

    aanwijzing: bool | None = None
    gemeente: str | None = None


@dataclass(frozen=True)
class PeerGegevens:
    """An active peer, as the outbox addresses it."""

    systeem: str
    url: str
    oin: str
    hub: bool


PROFIELKOLOMMEN = tuple(f.name for f in fields(Profiel))
_KOLOMMEN = [getattr(Instantie, k) for k in PROFIELKOLOMMEN]

VERSIE = select(Registerstand.versie).where(Registerstand.id == 1).scalar_subquery()
_VERSIE = select(VERSIE)
_PER_OIN = select(*_KOLOMMEN).where(Instantie.oin == bindparam("b_oin"), Instantie.systeem.is_(None))
_PER_ID = select(*_KOLOMMEN).where(Instantie.id.in_(bindparam("b_ids", expanding=True)))
_INHOUDKERN = select(Profielinhoud.aanwijzing, Profielinhoud.gemeente).where(
    Profielinhoud.instantie_id == bindparam("b_id")
)
_HOOGSTENS = 20_000
_ACTIEVE_PEERS = select(Peer.systeem, Peer.url, Peer.oin, Peer.hub).where(Peer.actief.is_(True)).order_by(Peer.systeem)


def profiel(rij: Any) -> Profiel:
    return Profiel(*rij)


def lees_versie(c: Connection) -> int:
    return int(c.execute(_VERSIE).scalar_one())


def lees_profiel(c: Connection, oin: str) -> Profiel | None:
    rij = c.execute(_PER_OIN, {"b_oin": oin}).first()
    return None if rij is None else profiel(rij)


def lees_profielen(c: Connection, ids: Sequence[int]) -> list[Profiel]:
    return [profiel(r) for r in c.execute(_PER_ID, {"b_ids": list(ids)})] if ids else []


def lees_inhoudkern(c: Connection, instantie_id: int) -> Inhoudkern:
    rij = c.execute(_INHOUDKERN, {"b_id": instantie_id}).first()
    return Inhoudkern() if rij is None else Inhoudkern(rij[0], rij[1])


def lees_actieve_peers(c: Connection) -> tuple[PeerGegevens, ...]:
    return tuple(PeerGegevens(*r) for r in c.execute(_ACTIEVE_PEERS))


class Register:
    """What one process keeps of the register, under one ``versie``. Create one per process; transactions use
    it through their ``Repository``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.versie: int | None = None
        self._per_oin: dict[str, Profiel | None] = {}
        self._per_id: dict[int, Profiel] = {}
        self._peers: tuple[PeerGegevens, ...] | None = None
        self._inhoud: dict[int, Inhoudkern] = {}

    def _onder(self, versie: int) -> None:
        """Make ``versie`` the kept one (forgetting what was kept under another)."""
        if self.versie != versie:
            self.versie = versie
            self._per_oin, self._per_id, self._peers, self._inhoud = {}, {}, None, {}

    def profiel(self, c: Connection, versie: int, oin: str) -> Profiel | None:
        with self._lock:
            self._onder(versie)
            if oin in self._per_oin:
                return self._per_oin[oin]
        gelezen = lees_profiel(c, oin)
        with self._lock:
            if self.versie == versie:
                if len(self._per_oin) >= _HOOGSTENS:
                    self._per_oin, self._per_id = {}, {}  # bounded: also OINs that are no instantie's are kept
                self._per_oin[oin] = gelezen
                if gelezen is not None:
                    self._per_id[gelezen.id] = gelezen
        return gelezen

    def profielen(self, c: Connection, versie: int, ids: Iterable[int]) -> dict[int, Profiel]:
        gevraagd = set(ids)
        with self._lock:
            self._onder(versie)
            uit = {i: p for i in gevraagd if (p := self._per_id.get(i)) is not None}
        missen = sorted(gevraagd - uit.keys())
        if missen:
            gelezen = lees_profielen(c, missen)
            with self._lock:
                if self.versie == versie:
                    for p in gelezen:
                        self._per_id[p.id] = p
                        self._per_oin[p.oin] = p
            uit.update((p.id, p) for p in gelezen)
        return uit

    def inhoudkern(self, c: Connection, versie: int, instantie_id: int) -> Inhoudkern:
        with self._lock:
            self._onder(versie)
            if (kern := self._inhoud.get(instantie_id)) is not None:
                return kern
        gelezen = lees_inhoudkern(c, instantie_id)
        with self._lock:
            if self.versie == versie:
                if len(self._inhoud) >= _HOOGSTENS:
                    self._inhoud = {}
                self._inhoud[instantie_id] = gelezen
        return gelezen

    def actieve_peers(self, c: Connection, versie: int) -> tuple[PeerGegevens, ...]:
        with self._lock:
            self._onder(versie)
            if self._peers is not None:
                return self._peers
        gelezen = lees_actieve_peers(c)
        with self._lock:
            if self.versie == versie:
                self._peers = gelezen
        return gelezen


_SIGNAALSTAND = select(Instantie.signaal_uitgegeven, Instantie.signaal_bevestigd).where(
    Instantie.id == bindparam("b_id")
)


class Registertoegang:
    """The register in one transaction (a part of ``store.repository.Repository``): profiles and active peers
    from the process's ``Register`` while the counter this transaction read is the kept one, else from the
    database; the peers themselves, to change them."""

    c: Connection
    s: Session

    def __init__(self, register: Register | None) -> None:
        # What this process keeps (None: read in every transaction), the counter this transaction read, and
        # whether it changed the register itself (from then on it reads its own changes).
        self.register = register
        self._versie: int | None = None
        self._register_gewijzigd = False
        self._profielen: dict[int, Profiel] = {}

    def zet_versie(self, versie: int) -> None:
        """The counter, read by a statement of this transaction that had to run anyway."""
        if self._versie is None:
            self._versie = versie

    def _bewaard(self) -> tuple[Register, int] | None:
        """The kept register and the counter, if this transaction may use them; reads the counter once."""
        if self.register is None or self._register_gewijzigd:
            return None
        if self._versie is None:
            self._versie = lees_versie(self.c)
        return self.register, self._versie

    def register_gewijzigd(self) -> None:
        """This transaction changed an instantie or a peer: from now on it reads them itself."""
        self._register_gewijzigd = True
        self._profielen.clear()

    def profiel(self, oin: str) -> Profiel | None:
        """The instantie with this OIN (active or not), as the services use it."""
        bewaard = self._bewaard()
        if bewaard is not None:
            return bewaard[0].profiel(self.c, bewaard[1], oin)
        return lees_profiel(self.c, oin)

    def instanties_by_id(self, ids: Iterable[int]) -> dict[int, Profiel]:
        """Profiles by id: from the kept register, else each read once per transaction."""
        gevraagd = set(ids)
        bewaard = self._bewaard()
        if bewaard is not None:
            return bewaard[0].profielen(self.c, bewaard[1], gevraagd)
        missen = sorted(i for i in gevraagd if i not in self._profielen)
        for p in lees_profielen(self.c, missen):
            self._profielen[p.id] = p
        return {i: self._profielen[i] for i in gevraagd if i in self._profielen}

    def inhoudkern(self, instantie_id: int) -> Inhoudkern:
        """The designation setting and municipality of an instantie's profile content: what this transaction
        wrote of it itself, else from the kept register, else read."""
        eigen = self.s.info.get("profielinhoud", {}).get(instantie_id, False)
        if eigen is not False:
            return Inhoudkern() if eigen is None else Inhoudkern(eigen.aanwijzing, eigen.gemeente)
        bewaard = self._bewaard()
        if bewaard is not None:
            return bewaard[0].inhoudkern(self.c, bewaard[1], instantie_id)
        return lees_inhoudkern(self.c, instantie_id)

    def actieve_peers(self) -> tuple[PeerGegevens, ...]:
        bewaard = self._bewaard()
        if bewaard is not None:
            return bewaard[0].actieve_peers(self.c, bewaard[1])
        return lees_actieve_peers(self.c)

    def signaalstand(self, instantie_id: int) -> tuple[int, int]:
        """(last issued, last acknowledged) signal number of an instantie: read now, never kept."""
        uitgegeven, bevestigd = self.c.execute(_SIGNAALSTAND, {"b_id": instantie_id}).one()
        return int(uitgegeven), int(bevestigd)

    # --- peers ---------------------------------------------------------------------------------

    def peers_met_oin(self, oin: str) -> Sequence[Peer]:
        """The registered peers (active or not) whose gateway has this OIN."""
        return self.s.execute(select(Peer).where(Peer.oin == oin).order_by(Peer.systeem)).scalars().all()

    def zet_peer_actief(self, systeem: str, actief: bool) -> bool:
        """Suspend or reactivate a peer; False when no peer has this system code."""
        peer = self.s.execute(select(Peer).where(Peer.systeem == systeem)).scalar_one_or_none()
        if peer is None:
            return False
        peer.actief = actief
        self.register_gewijzigd()
        return True

    def actieve_peer(self, systeem: str) -> Peer | None:
        return self.s.execute(select(Peer).where(Peer.systeem == systeem, Peer.actief.is_(True))).scalar_one_or_none()

    def peers(self) -> Sequence[Peer]:
        return self.s.execute(select(Peer).order_by(Peer.systeem)).scalars().all()

    def zet_peer(self, systeem: str, url: str, oin: str, certificaat: str | None, hub: bool = False) -> None:
        """Register another verwijsindex system, or change and reactivate it (a certificate given replaces
        the registered one); ``hub``: it is the national hub (docs/federation.md)."""
        self.register_gewijzigd()
        peer = self.s.execute(select(Peer).where(Peer.systeem == systeem)).scalar_one_or_none()
        if peer is None:
            self.s.add(Peer(systeem=systeem, url=url, oin=oin, actief=True, certificaat=certificaat, hub=hub))
            return
        peer.url, peer.oin, peer.actief, peer.hub = url, oin, True, hub
        if certificaat is not None:
            peer.certificaat = certificaat
