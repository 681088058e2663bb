"""Witnessing another system's log (docs/getuigen.md), after transparency-dev's witness and C2SP
tlog-witness: a witness keeps the newest checkpoint it cosigned per log and cosigns a newer one only with a
consistency proof from it. A cosignature states the same size and root as the checkpoint, signed with the
witness's own checkpoint key (the same XML-DSig as a checkpoint, so ``xmlsec1`` verifies it):

    <log:cosignatuur xmlns:log="urn:nl:vir:gateway:log:v1">
      <log:uitgever>…</log:uitgever>      the OIN of the log's gateway (the checkpoint's uitgever)
      <log:grootte>1234</log:grootte>     the checkpoint's size …
      <log:wortel>base64</log:wortel>     … and root
      <log:getuige>…</log:getuige>        the witness's OIN
      <log:tijdstip>…</log:tijdstip>      when it cosigned
      <ds:Signature>…</ds:Signature>
    </log:cosignatuur>

``beoordeel`` is the witness's decision, plain Python: cosign, tell the log the size to prove from, or
name a split view (two checkpoints that cannot both be views of one append-only log).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import Enum

from lxml import etree

from gateway import ns
from gateway.log import merkle
from gateway.log.checkpoint import CheckpointData, CheckpointError, Signer, verify_element


def _l(tag: str) -> str:
    return f"{{{ns.LOG}}}{tag}"


@dataclass(frozen=True)
class CosignatuurData:
    uitgever: str
    grootte: int
    wortel: bytes
    getuige: str
    tijdstip: str


def cosigneer(signer: Signer, checkpoint: CheckpointData, getuige: str, tijdstip: str) -> bytes:
    """Our cosignature of a verified checkpoint."""
    root = etree.Element(_l("cosignatuur"), nsmap={"log": ns.LOG})
    etree.SubElement(root, _l("uitgever")).text = checkpoint.uitgever
    etree.SubElement(root, _l("grootte")).text = str(checkpoint.grootte)
    etree.SubElement(root, _l("wortel")).text = base64.b64encode(checkpoint.wortel).decode()
    etree.SubElement(root, _l("getuige")).text = getuige
    etree.SubElement(root, _l("tijdstip")).text = tijdstip
    return signer.sign_element(root)


def verifieer_cosignatuur(xml: bytes, cert_pem: bytes) -> CosignatuurData:
    """Verify a cosignature with the witness's certificate and return what it states."""
    signed = verify_element(xml, cert_pem, "cosignatuur")
    try:
        return CosignatuurData(
            uitgever=str(signed.findtext(_l("uitgever"))),
            grootte=int(signed.findtext(_l("grootte")) or ""),
            wortel=base64.b64decode(signed.findtext(_l("wortel")) or "", validate=True),
            getuige=str(signed.findtext(_l("getuige"))),
            tijdstip=str(signed.findtext(_l("tijdstip"))),
        )
    except ValueError as exc:
        raise CheckpointError(f"malformed cosignature: {exc}") from exc


class Uitkomst(Enum):
    COSIGNEREN = "cosigneren"  # new and consistent: cosign it and remember it
    AL_GETUIGD = "al getuigd"  # cosigned before: hand out the stored cosignature again
    ANDERE_BASIS = "andere basis"  # the proof starts elsewhere, or this is older than what we know
    GESPLITST = "gesplitst"  # a split view


@dataclass(frozen=True)
class Oordeel:
    uitkomst: Uitkomst
    reden: str = ""


@dataclass(frozen=True)
class Bekend:
    """A checkpoint the witness cosigned before."""

    grootte: int
    wortel: bytes


def beoordeel(
    laatst: Bekend | None,
    zelfde_grootte: Bekend | None,
    nieuw: CheckpointData,
    vanaf: int,
    bewijs: list[bytes],
) -> Oordeel:
    """The witness's decision on a verified checkpoint ``nieuw`` that comes with a consistency proof from
    size ``vanaf``. ``laatst``: the newest checkpoint of this log we cosigned; ``zelfde_grootte``: one of
    ours of the same size as ``nieuw``, if we ever cosigned one."""
    if zelfde_grootte is not None:
        if zelfde_grootte.wortel == nieuw.wortel:
            return Oordeel(Uitkomst.AL_GETUIGD)
        return Oordeel(Uitkomst.GESPLITST, f"two checkpoints of size {nieuw.grootte} with different roots")
    if laatst is None:
        return Oordeel(Uitkomst.COSIGNEREN)  # the first one we see of this log: trusted on first use
    if nieuw.grootte < laatst.grootte or vanaf != laatst.grootte:
        # An older checkpoint (a delivery overtaken by a newer one, or a log cut back: only a proof from
        # the size we know can tell), or a proof from a size we did not cosign: ask for one from ours.
        return Oordeel(Uitkomst.ANDERE_BASIS)
    if not merkle.verify_consistency(laatst.grootte, nieuw.grootte, laatst.wortel, nieuw.wortel, bewijs):
        return Oordeel(
            Uitkomst.GESPLITST,
            f"no consistency from the cosigned checkpoint of size {laatst.grootte} to size {nieuw.grootte}",
        )
    return Oordeel(Uitkomst.COSIGNEREN)
