"""Witnesses across systems (docs/getuigen.md): the checkpoints of peers this node cosigned, the peers'
cosignatures of our checkpoints, the split views a peer presented, and the certificate that signs a peer's
checkpoints. None of it holds personal data: sizes, roots, times and signatures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from store.models import Checkpoint, Cosignatuur, GesplitstZicht, GetuigdCheckpoint, Peer


@dataclass(frozen=True)
class Stand:
    """One peer as ``vir-gateway log getuigen`` shows it."""

    peer: str
    actief: bool
    sleutel: bool  # a checkpoint certificate is registered
    ons_grootte: int | None  # the newest of our checkpoints it cosigned
    ons_tijdstip: str | None
    hun_grootte: int | None  # the newest of its checkpoints we cosigned
    hun_tijdstip: str | None
    gesplitst: int  # split views it presented


class Getuigen:
    """The witness tables of one transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session

    # --- the peer's checkpoint key ---------------------------------------------------------------

    def zet_checkpoint_certificaat(self, systeem: str, pem: str) -> bool:
        """Register the certificate of a peer's checkpoint key; False when there is no such peer."""
        peer = self.s.execute(select(Peer).where(Peer.systeem == systeem)).scalar_one_or_none()
        if peer is None:
            return False
        peer.checkpoint_certificaat = pem
        return True

    # --- as a witness of peers' logs -------------------------------------------------------------

    def laatst_getuigd(self, peer: str) -> GetuigdCheckpoint | None:
        """The newest checkpoint of ``peer`` we cosigned (the next proof must start from it)."""
        return self.s.execute(
            select(GetuigdCheckpoint)
            .where(GetuigdCheckpoint.peer == peer)
            .order_by(GetuigdCheckpoint.grootte.desc())
            .limit(1)
            .with_for_update()
        ).scalar_one_or_none()

    def getuigd_van_grootte(self, peer: str, grootte: int) -> GetuigdCheckpoint | None:
        return self.s.execute(
            select(GetuigdCheckpoint).where(GetuigdCheckpoint.peer == peer, GetuigdCheckpoint.grootte == grootte)
        ).scalar_one_or_none()

    def bewaar_getuigd(
        self, peer: str, grootte: int, wortel: bytes, checkpoint: bytes, cosignatuur: bytes, tijdstip: str
    ) -> None:
        self.s.add(
            GetuigdCheckpoint(
                peer=peer,
                grootte=grootte,
                wortel=wortel,
                checkpoint=checkpoint,
                cosignatuur=cosignatuur,
                tijdstip=tijdstip,
            )
        )

    def gesplitst_vastleggen(
        self,
        peer: str,
        tijdstip: str,
        reden: str,
        bekend: tuple[int, bytes],
        nieuw: tuple[int, bytes],
        volgnummer: int | None,
    ) -> None:
        """Record a split view: the checkpoint we knew and the one that contradicts it (size, signed XML)."""
        self.s.add(
            GesplitstZicht(
                peer=peer,
                tijdstip=tijdstip,
                reden=reden[:200],
                bekend_grootte=bekend[0],
                bekend_checkpoint=bekend[1],
                nieuw_grootte=nieuw[0],
                nieuw_checkpoint=nieuw[1],
                volgnummer=volgnummer,
            )
        )

    def gesplitste_zichten(self) -> Sequence[GesplitstZicht]:
        return self.s.execute(select(GesplitstZicht).order_by(GesplitstZicht.id)).scalars().all()

    # --- our checkpoints, witnessed by peers -----------------------------------------------------

    def laatste_checkpoint(self) -> Checkpoint | None:
        return self.s.execute(select(Checkpoint).order_by(Checkpoint.grootte.desc()).limit(1)).scalar_one_or_none()

    def checkpoint_van_grootte(self, grootte: int) -> Checkpoint | None:
        return self.s.execute(select(Checkpoint).where(Checkpoint.grootte == grootte)).scalar_one_or_none()

    def laatst_gecosigneerd_door(self, peer: str) -> int:
        """The size of our newest checkpoint ``peer`` cosigned (0: none yet)."""
        n = self.s.execute(select(func.max(Cosignatuur.grootte)).where(Cosignatuur.peer == peer)).scalar_one()
        return int(n or 0)

    def bewaar_cosignatuur(self, peer: str, grootte: int, xml: bytes, tijdstip: str) -> bool:
        """Keep a peer's cosignature; False when one of that checkpoint was kept already (another worker)."""
        try:
            with self.s.begin_nested():
                self.s.add(Cosignatuur(peer=peer, grootte=grootte, xml=xml, tijdstip=tijdstip))
        except IntegrityError:
            return False
        return True

    def cosignaturen(self, grootte: int) -> list[bytes]:
        """The peers' cosignatures of our checkpoint of ``grootte`` entries, by peer."""
        rows = self.s.execute(
            select(Cosignatuur.xml).where(Cosignatuur.grootte == grootte).order_by(Cosignatuur.peer)
        ).scalars()
        return [bytes(x) for x in rows]

    def gecosigneerd_checkpoint_voor(self, volgnummer: int) -> Checkpoint | None:
        """The newest of our checkpoints that covers entry ``volgnummer`` and that a peer cosigned."""
        return self.s.execute(
            select(Checkpoint)
            .where(Checkpoint.grootte > volgnummer, Checkpoint.grootte.in_(select(Cosignatuur.grootte)))
            .order_by(Checkpoint.grootte.desc())
            .limit(1)
        ).scalar_one_or_none()

    # --- retention --------------------------------------------------------------------------------

    def vergeet_voor(self, grens: str) -> int:
        """Checkpoints we cosigned and cosignatures we received before ``grens`` (RFC 3339 UTC, as they
        are stored), except the newest of each peer in each table: a witness needs that one to check the
        next checkpoint, and a receipt is proven against our newest cosigned checkpoint. Split views stay:
        they are the evidence of a peer's misbehaviour, few and without personal data."""
        weg = 0
        tabel: type[GetuigdCheckpoint] | type[Cosignatuur]
        for tabel in (GetuigdCheckpoint, Cosignatuur):
            ander = aliased(tabel)
            nieuwer = select(ander.id).where(ander.peer == tabel.peer, ander.grootte > tabel.grootte).exists()
            res = self.s.execute(
                delete(tabel).where(tabel.tijdstip < grens, nieuwer).execution_options(synchronize_session=False)
            )
            weg += int(getattr(res, "rowcount", 0) or 0)
        return weg

    # --- the operator's view ---------------------------------------------------------------------

    def stand(self) -> list[Stand]:
        """Per registered peer: the newest of ours it cosigned, the newest of its we cosigned, split views."""
        result = []
        for p in self.s.execute(select(Peer).order_by(Peer.systeem)).scalars():
            ons = self.s.execute(
                select(Cosignatuur.grootte, Cosignatuur.tijdstip)
                .where(Cosignatuur.peer == p.systeem)
                .order_by(Cosignatuur.grootte.desc())
                .limit(1)
            ).first()
            hun = self.s.execute(
                select(GetuigdCheckpoint.grootte, GetuigdCheckpoint.tijdstip)
                .where(GetuigdCheckpoint.peer == p.systeem)
                .order_by(GetuigdCheckpoint.grootte.desc())
                .limit(1)
            ).first()
            gesplitst = self.s.execute(
                select(func.count()).select_from(GesplitstZicht).where(GesplitstZicht.peer == p.systeem)
            ).scalar_one()
            result.append(
                Stand(
                    peer=p.systeem,
                    actief=p.actief,
                    sleutel=p.checkpoint_certificaat is not None,
                    ons_grootte=int(ons[0]) if ons else None,
                    ons_tijdstip=ons[1] if ons else None,
                    hun_grootte=int(hun[0]) if hun else None,
                    hun_tijdstip=hun[1] if hun else None,
                    gesplitst=int(gesplitst),
                )
            )
        return result
