"""The tables. Youth data is limited to the key and (when known) the birth date; a melding carries only
what the law allows (Jeugdwet art. 7.1.3.2)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.basis import Base, Tijdstip


def index_waar(naam: str, *kolommen: str, waar: str, unique: bool = False) -> Index:
    """An index of the rows that satisfy ``waar`` only, on both databases (a partial index)."""
    return Index(naam, *kolommen, unique=unique, sqlite_where=text(waar), postgresql_where=text(waar))


def uniek_waar(naam: str, *kolommen: str, waar: str) -> Index:
    """A unique index of the rows that satisfy ``waar`` only, on both databases (a partial index)."""
    return index_waar(naam, *kolommen, waar=waar, unique=True)


class Instantie(Base):
    """An organisation: one of our chain partners (``systeem`` None, unique by OIN), or a party of another
    verwijsindex system known through its meldingen, identified by (system, OIN) and never merged with ours
    (migration 0012)."""

    __tablename__ = "instantie"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    oin: Mapped[str] = mapped_column(String(20))
    naam: Mapped[str] = mapped_column(String(200))
    vestiging: Mapped[str | None] = mapped_column(String(200))
    actief: Mapped[bool] = mapped_column(default=True)
    aangemaakt: Mapped[datetime] = mapped_column(Tijdstip())
    # Per-instantie signal sequence: the last number issued and the last one acknowledged. Issuing
    # takes this row's lock, so numbers are gap-free and become visible in order.
    signaal_uitgegeven: Mapped[int] = mapped_column(BigInteger, default=0)
    signaal_bevestigd: Mapped[int] = mapped_column(BigInteger, default=0)
    # None for our own instanties; the system code for an instantie of another verwijsindex system,
    # known here only through its meldingen (it can never call our chain-partner service).
    systeem: Mapped[str | None] = mapped_column(String(20), default=None)

    # --- the profile (``vir-gateway instantie profiel``) ---
    # Lifetime of a melding in years; None means the legal maximum (Regels.max_melding_jaren), and
    # a value above it is capped at it.
    melding_jaren: Mapped[int | None] = mapped_column(Integer, default=None)
    mag_regievoeren: Mapped[bool] = mapped_column(default=False)
    mag_afschermen: Mapped[bool] = mapped_column(default=False)
    # JSON contact card shown to other parties instead of the filer's for a shielded melding.
    afschermcontact: Mapped[str | None] = mapped_column(Text, default=None)
    # JSON list of case types whose ``gestart`` event files a melding automatically.
    auto_casustypen: Mapped[str] = mapped_column(Text, default="[]")
    bsn_toegestaan: Mapped[bool] = mapped_column(default=True)
    # Push of the signal queue to the partner's own endpoint (wsdl/signalen.wsdl): the last number
    # delivered, and the retry state of the next attempt.
    callback_url: Mapped[str | None] = mapped_column(String(400), default=None)
    push_tot: Mapped[int] = mapped_column(BigInteger, default=0)
    push_pogingen: Mapped[int] = mapped_column(Integer, default=0)
    push_volgende: Mapped[datetime | None] = mapped_column(Tijdstip(), default=None)
    push_fout: Mapped[str | None] = mapped_column(String(400), default=None)
    # WS-Security: the PEM certificate whose key signs this instantie's messages, and whether its
    # requests must be signed (``vir-gateway instantie profiel --certificaat F --wss``).
    certificaat: Mapped[str | None] = mapped_column(Text, default=None)
    wss_verplicht: Mapped[bool] = mapped_column(default=False)
    # May its system read matches and signals without naming the professional (``gebruiker``) on whose
    # behalf it reads? None follows the mode: yes in development, no otherwise (migration 0006_systeeminzage).
    systeem_inzage: Mapped[bool | None] = mapped_column(default=None)

    __table_args__ = (
        uniek_waar("uq_instantie_lokaal", "oin", waar="systeem IS NULL"),
        uniek_waar("uq_instantie_extern", "systeem", "oin", waar="systeem IS NOT NULL"),
    )


class Jongere(Base):
    """One row per youth key; its row lock serialises every change to the youth's meldingen."""

    __tablename__ = "jongere"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sleutel: Mapped[str] = mapped_column(String(40), unique=True)
    geboortedatum: Mapped[date | None] = mapped_column(Date)
    # The youth's federation pseudonym (``psn:<version>:<hex>``, docs/federation.md), set once the youth is
    # exchanged with other systems: what peers name it by. A hub knows a youth it has no melding of its own on
    # by the pseudonym alone (then ``sleutel`` is the pseudonym too).
    pseudoniem: Mapped[str | None] = mapped_column(String(40), default=None)

    # Only the youths that have one (migration 0017): most never do, and each would cost every filing an index write.
    __table_args__ = (uniek_waar("uq_jongere_pseudoniem", "pseudoniem", waar="pseudoniem IS NOT NULL"),)


class Melding(Base):
    __tablename__ = "melding"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    melding_id: Mapped[str] = mapped_column(String(36), unique=True)
    instantie_id: Mapped[int] = mapped_column(ForeignKey("instantie.id"))
    jongere_id: Mapped[int] = mapped_column(ForeignKey("jongere.id"))
    status: Mapped[str] = mapped_column(String(16))  # actief | gearchiveerd
    afgegeven: Mapped[datetime] = mapped_column(Tijdstip())
    gewijzigd: Mapped[datetime] = mapped_column(Tijdstip())
    geplande_einddatum: Mapped[date] = mapped_column(Date)
    beeindigd: Mapped[datetime | None] = mapped_column(Tijdstip())
    reden: Mapped[str | None] = mapped_column(String(32))
    archief_tot: Mapped[date | None] = mapped_column(Date)
    versie: Mapped[int] = mapped_column(Integer, default=1)
    mb_naam: Mapped[str] = mapped_column(String(200))
    mb_functie: Mapped[str | None] = mapped_column(String(200))
    mb_telefoon: Mapped[str | None] = mapped_column(String(40))
    mb_email: Mapped[str | None] = mapped_column(String(254))
    bronsysteem: Mapped[str] = mapped_column(String(80))
    # the designated professional's id in the instantie's own system (``meldingsbevoegde``), when known
    mb_code: Mapped[str | None] = mapped_column(String(80), default=None)
    # Where the melding is counted (management information): the youth's municipality when it was filed,
    # else its instantie's; its ending is counted there too, so the stock per municipality adds up.
    gemeente: Mapped[str | None] = mapped_column(String(4), default=None)
    # Where the melding lives when it is another system's: (system, its meldingId there); its
    # version is ``versie``. None for our own.
    bron_systeem: Mapped[str | None] = mapped_column(String(20), default=None)
    bron_melding_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Others see the instantie's shielding contact instead of the filer (anonymous signalling).
    afgeschermd: Mapped[bool] = mapped_column(default=False)
    # The pre-expiry notice was sent / an archived melding has given its one-time archiefsignaal.
    verloop_gemeld: Mapped[bool] = mapped_column(default=False)
    archief_gemeld: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        # Another system's meldingen only (migration 0017): ours leave both empty.
        uniek_waar("uq_melding_bron", "bron_systeem", "bron_melding_id", waar="bron_systeem IS NOT NULL"),
        # At most one active melding per (instantie, jongere), enforced by the database as well.
        uniek_waar("uq_melding_actief", "instantie_id", "jongere_id", waar="status = 'actief'"),
        Index("ix_melding_jongere_status", "jongere_id", "status"),
        Index("ix_melding_instantie_status", "instantie_id", "status"),
    )


class Match(Base):
    __tablename__ = "match"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[str] = mapped_column(String(36), unique=True)
    jongere_id: Mapped[int] = mapped_column(ForeignKey("jongere.id"))
    soort: Mapped[str] = mapped_column(String(16))  # clientmatch | gezinsmatch
    status: Mapped[str] = mapped_column(String(16))  # actief | beeindigd
    ontstaan: Mapped[datetime] = mapped_column(Tijdstip())
    beeindigd: Mapped[datetime | None] = mapped_column(Tijdstip())
    regievoerder_id: Mapped[int | None] = mapped_column(ForeignKey("instantie.id"), default=None)
    # When, and in which system, the coordinator was chosen: across systems the latest choice wins, at the same
    # instant the one of the system whose code sorts last (docs/federation.md). None: chosen here before 0012.
    regie_tijdstip: Mapped[datetime | None] = mapped_column(Tijdstip(), default=None)
    regie_systeem: Mapped[str | None] = mapped_column(String(20), default=None)
    # A gezinsmatch (one per youth): JSON list of the ids of the active meldingen on related youths
    # it was last computed with, so that a recomputation knows what changed for whom.
    leden: Mapped[str | None] = mapped_column(Text, default=None)

    __table_args__ = (
        uniek_waar("uq_match_actief", "jongere_id", "soort", waar="status = 'actief'"),
        # Every match of a youth, ended ones too: forgetting a youth (and the foreign-key check of its row)
        # looks them up (migration 0016).
        Index("ix_match_jongere", "jongere_id"),
    )


class Signaal(Base):
    """A notification for one instantie; ``inhoud`` is the match as it was when the signal arose."""

    __tablename__ = "signaal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instantie_id: Mapped[int] = mapped_column(ForeignKey("instantie.id"))
    volgnummer: Mapped[int] = mapped_column(BigInteger)
    soort: Mapped[str] = mapped_column(String(32))
    tijdstip: Mapped[datetime] = mapped_column(Tijdstip())
    melding_id: Mapped[str] = mapped_column(String(36))
    inhoud: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("instantie_id", "volgnummer", name="uq_signaal_volgnummer"),)


class Bericht(Base):
    """Answers by (sender, berichtId), so that a retried request gets the original answer."""

    __tablename__ = "bericht"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zender_oin: Mapped[str] = mapped_column(String(20))
    bericht_id: Mapped[str] = mapped_column(String(36))
    operatie: Mapped[str] = mapped_column(String(64))
    verzoek_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    antwoord: Mapped[bytes] = mapped_column(LargeBinary)
    tijdstip: Mapped[datetime] = mapped_column(Tijdstip())

    __table_args__ = (UniqueConstraint("zender_oin", "bericht_id", name="uq_bericht_zender"),)


# A 64-bit primary key that is the table's own row key on SQLite: there a column is the rowid only when its type is
# exactly INTEGER (an integer of up to 64 bits all the same), and a BIGINT key is a second b-tree beside the table,
# written on every insert (migration 0018). PostgreSQL keeps BIGINT.
_RIJSLEUTEL_64 = BigInteger().with_variant(Integer(), "sqlite")


class LogregelRij(Base):
    """One leaf of the message log. The leaf hash commits to every column except ``payload`` and
    ``payload_verwijderd``: it commits to the payload's digest, so a payload can be removed after its
    retention period without breaking any proof (``gateway/log/regel.py`` has the exact encoding)."""

    __tablename__ = "logregel"

    volgnummer: Mapped[int] = mapped_column(_RIJSLEUTEL_64, primary_key=True, autoincrement=False)
    tijdstip: Mapped[str] = mapped_column(String(32))  # RFC 3339 UTC with microseconds, as hashed
    soort: Mapped[str] = mapped_column(String(16))
    operatie: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(80))
    bericht_id: Mapped[str | None] = mapped_column(String(64))
    kruisverwijzing: Mapped[str | None] = mapped_column(String(64))
    foutcode: Mapped[str | None] = mapped_column(String(64))
    correlatie_id: Mapped[str | None] = mapped_column(String(36))
    payload_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    payload_lengte: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload_verwijderd: Mapped[str | None] = mapped_column(String(32))
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (
        Index("ix_logregel_tijdstip", "tijdstip"),
        Index("ix_logregel_bericht", "bericht_id"),
        Index("ix_logregel_actor", "actor"),
        # Only entries with a fault code: an answered filing writes nothing here (migration 0019).
        index_waar("ix_logregel_foutcode", "foutcode", waar="foutcode IS NOT NULL"),
    )


class LogHoofd(Base):
    """The single row that every append locks: tree size, right-edge frontier and root."""

    __tablename__ = "loghoofd"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grootte: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    wortel: Mapped[bytes] = mapped_column(LargeBinary(32))


class Checkpoint(Base):
    """A signed statement of the tree's size and root at a moment (``xml`` as signed, byte for byte)."""

    __tablename__ = "checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grootte: Mapped[int] = mapped_column(BigInteger, unique=True)
    wortel: Mapped[bytes] = mapped_column(LargeBinary(32))
    tijdstip: Mapped[str] = mapped_column(String(32))
    xml: Mapped[bytes] = mapped_column(LargeBinary)


class LogKnoop(Base):
    """The hash of a complete perfect subtree of the message log (level ≥ 1), so that proofs read
    O(log n) hashes; ``sleutel = positie · 64 + niveau`` (``store/logboom.py``)."""

    __tablename__ = "logknoop"

    sleutel: Mapped[int] = mapped_column(_RIJSLEUTEL_64, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class Peer(Base):
    """Another verwijsindex system this node exchanges meldingen with."""

    __tablename__ = "peer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    systeem: Mapped[str] = mapped_column(String(20), unique=True)
    url: Mapped[str] = mapped_column(String(400))
    oin: Mapped[str] = mapped_column(String(20))  # the peer gateway's own OIN (stuurgegevens/ontvanger)
    actief: Mapped[bool] = mapped_column(default=True)
    # PEM certificate whose key signs the peer's messages; when set, its messages must be signed.
    certificaat: Mapped[str | None] = mapped_column(Text, default=None)
    # PEM certificate whose key signs the peer's log checkpoints (and its cosignatures of ours): without
    # it this node neither cosigns the peer's checkpoints nor accepts its cosignatures (docs/getuigen.md).
    checkpoint_certificaat: Mapped[str | None] = mapped_column(Text, default=None)
    # The national hub: it holds every system's meldingen, so a regional node sends its own to it always
    # (and announces to nobody); docs/federation.md.
    hub: Mapped[bool] = mapped_column(default=False)


class Registerstand(Base):
    """One row counting changes to the register of instanties (their profiles, not their counters) and peers.

    Database triggers (migration 0013) raise ``versie`` in the transaction of every such change, so a process
    may keep what it read of the register as long as the ``versie`` it reads stays the same
    (``store/register.py``)."""

    __tablename__ = "registerstand"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    versie: Mapped[int] = mapped_column(BigInteger, default=0)


class FederatieUitgaand(Base):
    """The outbox: one delivery of one melding version to one peer, written in the transaction that
    changed the melding and delivered afterwards by ``vir-gateway worker``."""

    __tablename__ = "federatie_uitgaand"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    peer: Mapped[str] = mapped_column(String(20))
    soort: Mapped[str] = mapped_column(String(16))  # doorgeven | intrekken
    bron_systeem: Mapped[str] = mapped_column(String(20))
    bron_melding_id: Mapped[str] = mapped_column(String(36))
    versie: Mapped[int] = mapped_column(Integer)
    inhoud: Mapped[str] = mapped_column(Text)  # JSON: what to send
    status: Mapped[str] = mapped_column(String(16))  # wachtend | bezig | afgeleverd | dood
    pogingen: Mapped[int] = mapped_column(Integer, default=0)
    volgende_poging: Mapped[datetime] = mapped_column(Tijdstip())
    laatste_fout: Mapped[str | None] = mapped_column(String(400))
    aangemaakt: Mapped[datetime] = mapped_column(Tijdstip())

    __table_args__ = (Index("ix_uitgaand_wachtend", "status", "volgende_poging"),)


class FederatieAfnemer(Base):
    """A peer that was sent a melding held here (ours, or on a hub another system's), so that its changes and
    its withdrawal reach that peer and no other. Deleted with the withdrawal. No personal data."""

    __tablename__ = "federatie_afnemer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    melding_id: Mapped[str] = mapped_column(String(36))  # our row's meldingId
    peer: Mapped[str] = mapped_column(String(20))

    __table_args__ = (UniqueConstraint("melding_id", "peer", name="uq_afnemer_melding_peer"),)


class FederatieIntrekking(Base):
    """A withdrawal of another system's melding that arrived before the melding itself did, so that a
    late, older upsert cannot bring it back."""

    __tablename__ = "federatie_intrekking"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bron_systeem: Mapped[str] = mapped_column(String(20))
    bron_melding_id: Mapped[str] = mapped_column(String(36))
    versie: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("bron_systeem", "bron_melding_id", name="uq_intrekking_bron"),)


class Afstemming(Base):
    """Matched parties recorded that they made contact (care coordination)."""

    __tablename__ = "afstemming"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("match.id", ondelete="CASCADE"), index=True)
    instantie_id: Mapped[int] = mapped_column(ForeignKey("instantie.id"))
    datum: Mapped[date] = mapped_column(Date)
    vastgelegd: Mapped[datetime] = mapped_column(Tijdstip())


class Telling(Base):
    """One countable event for management information; it never refers to a youth, so it outlives
    the meldingen it counts."""

    __tablename__ = "telling"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tijdstip: Mapped[datetime] = mapped_column(Tijdstip(), index=True)
    instantie_id: Mapped[int] = mapped_column(ForeignKey("instantie.id"))
    soort: Mapped[str] = mapped_column(String(16))
    # the youth's municipality (population register), else the instantie's; and a number some kinds carry
    # (``afstemming``: days from the match to the first recorded contact)
    gemeente: Mapped[str | None] = mapped_column(String(4), default=None)
    waarde: Mapped[int | None] = mapped_column(Integer, default=None)


class BrpAdres(Base):
    """An address of the embedded population register; children at an institution address are not family."""

    __tablename__ = "brp_adres"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    postcode: Mapped[str] = mapped_column(String(6))
    huisnummer: Mapped[int] = mapped_column(Integer)
    gemeente: Mapped[str] = mapped_column(String(4))
    instelling: Mapped[bool] = mapped_column(default=False)


class BrpPersoon(Base):
    """A person of the embedded population register: keys and dates only, no names."""

    __tablename__ = "brp_persoon"

    bsn: Mapped[str] = mapped_column(String(9), primary_key=True)
    geboortedatum: Mapped[date] = mapped_column(Date)
    geslacht: Mapped[str] = mapped_column(String(1))
    overlijdensdatum: Mapped[date | None] = mapped_column(Date)
    adres_id: Mapped[str | None] = mapped_column(String(16), index=True)
    # On a hub: the person's federation pseudonym, so that the register relates youths other systems name by
    # pseudonym only (docs/federation.md, family matches across systems).
    pseudoniem: Mapped[str | None] = mapped_column(String(40), default=None, index=True)


class BrpOuder(Base):
    __tablename__ = "brp_ouder"

    kind_bsn: Mapped[str] = mapped_column(String(9), primary_key=True)
    ouder_bsn: Mapped[str] = mapped_column(String(9), primary_key=True, index=True)


class WsaBericht(Base):
    """WS-Addressing MessageIDs of verified requests, to refuse a replay; kept twice the timestamp window."""

    __tablename__ = "wsa_bericht"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    tijdstip: Mapped[datetime] = mapped_column(Tijdstip(), index=True)


class Beheerder(Base):
    """A person who may use the operator console (``/beheer/``), known by the SHA-256 fingerprint of their
    client certificate from the operator CA (``VIR_BEHEER_CA``). Personal data: the name; see docs/privacy.md."""

    __tablename__ = "beheerder"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    naam: Mapped[str] = mapped_column(String(80), unique=True)
    rol: Mapped[str] = mapped_column(String(20))  # beheerder | auditor | privacyfunctionaris
    vingerafdruk: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the DER certificate, hex
    onderwerp: Mapped[str] = mapped_column(String(400))
    actief: Mapped[bool] = mapped_column(default=True)
    aangemaakt: Mapped[datetime] = mapped_column(Tijdstip())
    ingetrokken: Mapped[datetime | None] = mapped_column(Tijdstip(), default=None)


# Tables kept in modules of their own, gathered here so that ``store.models`` names every table.
from store.models_getuigen import Cosignatuur, GesplitstZicht, GetuigdCheckpoint  # noqa: E402
from store.models_profiel import MeldingsbevoegdeRij, Profielinhoud  # noqa: E402

__all__ = ["Base", "Cosignatuur", "GesplitstZicht", "GetuigdCheckpoint", "MeldingsbevoegdeRij", "Profielinhoud"]
