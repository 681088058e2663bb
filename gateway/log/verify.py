"""Verifying the log: recompute every leaf and the tree, check every checkpoint's signature and root,
and name the first place where something was changed, removed, inserted or reordered.

The same code verifies a live database and an exported bundle (``gateway/log/bundle.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from gateway.log.checkpoint import CheckpointData, CheckpointError
from gateway.log.checkpoint import verify as verify_checkpoint
from gateway.log.merkle import Frontier
from gateway.log.regel import leaf_of_row


@dataclass(frozen=True)
class Bevinding:
    plek: str  # "regel 17", "checkpoint 120", "hoofd"
    wat: str

    def __str__(self) -> str:
        return f"{self.plek}: {self.wat}"


@dataclass
class Resultaat:
    regels: int = 0
    checkpoints: int = 0
    bevindingen: list[Bevinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bevindingen


def _verschuiving(row: Any) -> int | None:
    """If the entry's own leaf hash fits a nearby position, how far it moved (+ later, - earlier)."""
    for delta in (1, -1, 2, -2):
        origineel = SimpleNamespace(**{k: getattr(row, k) for k in _KOLOMMEN})
        origineel.volgnummer = row.volgnummer - delta
        if origineel.volgnummer >= 0 and leaf_of_row(origineel) == row.leaf:
            return delta
    return None


_KOLOMMEN = (
    "volgnummer",
    "tijdstip",
    "soort",
    "operatie",
    "actor",
    "bericht_id",
    "kruisverwijzing",
    "foutcode",
    "correlatie_id",
    "payload_digest",
    "payload_lengte",
)


def controleer_checkpoints(
    xmls: Iterable[tuple[int, bytes]], cert_pem: bytes, resultaat: Resultaat
) -> dict[int, CheckpointData]:
    """Verify each checkpoint's signature; returns the verified ones by size."""
    geldig: dict[int, CheckpointData] = {}
    for grootte, xml in xmls:
        try:
            data = verify_checkpoint(xml, cert_pem)
        except CheckpointError as exc:
            resultaat.bevindingen.append(Bevinding(f"checkpoint {grootte}", str(exc)))
            continue
        if data.grootte != grootte:
            resultaat.bevindingen.append(Bevinding(f"checkpoint {grootte}", f"signed size is {data.grootte}"))
            continue
        geldig[grootte] = data
        resultaat.checkpoints += 1
    return geldig


def verify_rows(
    rows: Iterable[Any],
    checkpoints: dict[int, CheckpointData],
    resultaat: Resultaat,
    *,
    head: tuple[int, bytes] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Resultaat:
    """Walk the entries in order; ``rows`` have the columns of ``LogRegel``."""
    frontier = Frontier()
    bad = resultaat.bevindingen
    schuif = 0  # the shift of a run of moved entries already reported
    for row in rows:
        expected = frontier.size
        if row.volgnummer != expected:
            if row.volgnummer > expected:
                bad.append(Bevinding(f"regel {expected}", f"missing: the next entry is {row.volgnummer}"))
            else:
                bad.append(Bevinding(f"regel {row.volgnummer}", "appears again or out of order"))
            return resultaat
        leaf = leaf_of_row(row)
        if leaf == row.leaf:
            schuif = 0
        else:
            verschoven = _verschuiving(row)
            if verschoven is None:
                schuif = 0
                bad.append(Bevinding(f"regel {expected}", "its metadata does not match its leaf hash (changed)"))
            elif verschoven != schuif:
                schuif = verschoven
                richting = "inserted" if verschoven > 0 else "removed"
                bad.append(
                    Bevinding(
                        f"regel {expected}",
                        f"it was logged as entry {expected - verschoven}: an entry "
                        f"was {richting} before it (and every later entry moved)",
                    )
                )
        if row.payload is not None:
            if hashlib.sha256(row.payload).digest() != row.payload_digest or len(row.payload) != row.payload_lengte:
                bad.append(Bevinding(f"regel {expected}", "its payload does not match the digest it was logged with"))
        elif row.payload_verwijderd is None:
            bad.append(Bevinding(f"regel {expected}", "its payload is gone without a redaction record"))
        frontier.append(leaf)
        resultaat.regels += 1
        cp = checkpoints.get(frontier.size)
        if cp is not None and cp.wortel != frontier.root():
            bad.append(
                Bevinding(
                    f"checkpoint {frontier.size}",
                    "the signed root differs from the entries: an entry "
                    "before it was changed, removed, inserted or reordered",
                )
            )
        if progress is not None and frontier.size % 10000 == 0:
            progress(frontier.size)
    if head is not None:
        grootte, wortel = head
        if grootte != frontier.size:
            bad.append(Bevinding("hoofd", f"the log says it has {grootte} entries, {frontier.size} were found"))
        elif wortel != frontier.root():
            bad.append(Bevinding("hoofd", "the root in the log head differs from the entries"))
    for grootte in checkpoints:
        if grootte > frontier.size:
            bad.append(Bevinding(f"checkpoint {grootte}", f"covers {grootte} entries, only {frontier.size} exist"))
    return resultaat
