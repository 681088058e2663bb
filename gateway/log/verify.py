"""Verifying the log: recompute every leaf and the tree, check every checkpoint's signature and root,
and name the first place where something was changed, removed, inserted or reordered.

The same code verifies a live database and an exported bundle (``gateway/log/bundle.py``). It also
holds the log against checkpoints kept elsewhere (``--tegen``: a rollback, a fork or another log's
checkpoint is named), accepts a missing payload only where a logged redaction covers it
(``gateway/log/redactie.py``), and recomputes the log head (size, frontier, root) instead of trusting
it. Whatever a tampered database holds (text where bytes belong, rows out of place), the result is
a named finding, never an exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from gateway.log import redactie
from gateway.log.checkpoint import CheckpointData, CheckpointError
from gateway.log.checkpoint import verify as verify_checkpoint
from gateway.log.merkle import Frontier
from gateway.log.regel import METADATA_KOLOMMEN, _s, leaf_of_row
from store.logboek import ruwe_regels

# What a stored column may hold when it was changed behind the gateway's back.
_VERKEERD_TYPE = (TypeError, ValueError, AttributeError, OverflowError)


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
    wortel: bytes | None = None  # the root recomputed from the entries
    redacties: int = 0  # missing payloads covered by a logged redaction
    wachtend: int = 0  # entries committed after the tree's end, checked one by one (a sequence-numbered log)

    @property
    def ok(self) -> bool:
        return not self.bevindingen


def _verschuiving(row: Any) -> int | None:
    """If the entry's own leaf hash fits a nearby position, how far it moved (+ later, - earlier)."""
    for delta in (1, -1, 2, -2):
        origineel = SimpleNamespace(**{k: getattr(row, k) for k in _KOLOMMEN})
        origineel.volgnummer = row.volgnummer - delta
        try:
            if origineel.volgnummer >= 0 and leaf_of_row(origineel) == row.leaf:
                return delta
        except _VERKEERD_TYPE:
            return None
    return None


_KOLOMMEN = METADATA_KOLOMMEN


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


def _bytes(value: Any) -> bytes | None:
    """A binary column as bytes; None when it holds something else (text written by hand)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (memoryview, bytearray)):
        return bytes(value)
    return None


class _Rijen:
    """Checks each entry on its own: position, leaf hash, payload digest (the parallel part). Notes
    the entries without payload and the ranges that logged redactions cover, for ``controleer_redacties``."""

    def __init__(self, start: int) -> None:
        self.verwacht = start
        self.schuif = 0  # the shift of a run of moved entries already reported
        self.leaves: list[bytes] = []
        self.bad: list[Bevinding] = []
        self.gestopt = False
        self.weg: list[list[int]] = []  # entries without payload, as inclusive ranges
        self.dekking: list[tuple[int, int, int]] = []  # (from, to, redaction entry) of verified redactions

    def zonder_payload(self, v: int) -> None:
        if self.weg and self.weg[-1][1] == v - 1:
            self.weg[-1][1] = v
        else:
            self.weg.append([v, v])

    def check(self, row: Any) -> bool:
        expected = self.verwacht
        if not isinstance(row.volgnummer, int):
            self.bad.append(Bevinding(f"regel {expected}", f"its number was replaced by {row.volgnummer!r}"))
            self.gestopt = True
            return False
        if row.volgnummer != expected:
            if row.volgnummer > expected:
                self.bad.append(Bevinding(f"regel {expected}", f"missing: the next entry is {row.volgnummer}"))
            else:
                self.bad.append(Bevinding(f"regel {row.volgnummer}", "appears again or out of order"))
            self.gestopt = True
            return False
        stored_leaf = _bytes(row.leaf)
        try:
            leaf: bytes | None = leaf_of_row(row)
        except _VERKEERD_TYPE:
            leaf = None
        intact = leaf is not None and leaf == stored_leaf
        if leaf is None:
            self.schuif = 0
            self.bad.append(
                Bevinding(f"regel {expected}", "a column holds a value of the wrong type (changed outside the gateway)")
            )
        elif intact:
            self.schuif = 0
        else:
            verschoven = _verschuiving(row)
            if verschoven is None:
                self.schuif = 0
                self.bad.append(Bevinding(f"regel {expected}", "its metadata does not match its leaf hash (changed)"))
            elif verschoven != self.schuif:
                self.schuif = verschoven
                richting = "inserted" if verschoven > 0 else "removed"
                self.bad.append(
                    Bevinding(
                        f"regel {expected}",
                        f"it was logged as entry {expected - verschoven}: an entry was {richting} before it "
                        "(and every later entry moved)",
                    )
                )
        payload = _bytes(row.payload)
        digest = _bytes(row.payload_digest)
        if row.payload is None:
            self.zonder_payload(expected)
        elif payload is None:
            self.bad.append(
                Bevinding(f"regel {expected}", "its payload was replaced by a value of another type (text)")
            )
        elif digest is None or hashlib.sha256(payload).digest() != digest or len(payload) != row.payload_lengte:
            self.bad.append(Bevinding(f"regel {expected}", "its payload does not match the digest it was logged with"))
        elif intact and redactie.is_redactie(row.soort, row.operatie):
            self.dekking.extend((a, b, expected) for a, b in redactie.gedekt(payload, expected))
        self.leaves.append(leaf if leaf is not None else stored_leaf or bytes(32))
        self.verwacht += 1
        return True


def controleer_redacties(
    weg: list[tuple[int, int]], dekking: list[tuple[int, int, int]], resultaat: Resultaat, getekend: int
) -> None:
    """Every entry without a payload must be covered by a redaction entry logged after it and itself
    under a signed checkpoint (``getekend``: the largest verified one), so that nobody without the
    key can append a redaction entry to cover a payload removed by hand."""
    gelden = [(a, b) for a, b, r in dekking if r < getekend]
    ongedekt = redactie.ongedekt(weg, gelden)
    vervalst = redactie.ongedekt(weg, [(a, b) for a, b, _ in dekking])
    ongetekend = redactie.ongedekt(ongedekt, vervalst)  # covered only by redactions not yet signed
    for ranges, wat in (
        (vervalst, "its payload is gone and no logged redaction covers it (a forged redaction mark)"),
        (ongetekend, "its payload is gone; the redaction entry that covers it is not yet under a signed checkpoint"),
    ):
        for a, b in ranges[:20]:
            resultaat.bevindingen.append(Bevinding(f"regel {a}" if a == b else f"regels {a}…{b}", wat))
        if len(ranges) > 20:
            resultaat.bevindingen.append(Bevinding("redacties", f"{len(ranges) - 20} more such ranges"))
    totaal = sum(b - a + 1 for a, b in weg)
    resultaat.redacties = totaal - sum(b - a + 1 for a, b in ongedekt)


@dataclass(frozen=True)
class Hoofd:
    """The stored log head, as read (``hoogste``: the highest entry number stored)."""

    grootte: int
    wortel: bytes
    frontier: bytes
    hoogste: int | None = None
    reeks: bool = False  # numbered from a sequence: committed entries may wait after the tree's end


@dataclass(frozen=True)
class Buiten:
    """A checkpoint of this log kept elsewhere (by a partner, an auditor, a witness)."""

    naam: str
    data: CheckpointData


class _Boom:
    """Builds the tree from the recomputed leaves and holds it against every checkpoint (sequential)."""

    def __init__(
        self,
        checkpoints: dict[int, CheckpointData],
        resultaat: Resultaat,
        progress: Callable[[int], None] | None,
        gevraagd: Iterable[int] = (),
    ) -> None:
        self.frontier = Frontier()
        self.checkpoints = checkpoints
        self.resultaat = resultaat
        self.progress = progress
        self.gevraagd = set(gevraagd)  # sizes whose root an outside checkpoint states
        self.wortels: dict[int, bytes] = {}

    def add(self, leaves: Iterable[bytes]) -> None:
        f, cps, bad, gevraagd = self.frontier, self.checkpoints, self.resultaat.bevindingen, self.gevraagd
        for leaf in leaves:
            f.append(leaf)
            cp = cps.get(f.size)
            if cp is not None and cp.wortel != f.root():
                bad.append(
                    Bevinding(
                        f"checkpoint {f.size}",
                        "the signed root differs from the entries: an entry before it was changed, removed, inserted "
                        "or reordered",
                    )
                )
            if f.size in gevraagd:
                self.wortels[f.size] = f.root()
        self.resultaat.regels = f.size
        if self.progress is not None:
            self.progress(f.size)

    def finish(self, head: Hoofd | None, tegen: Sequence[Buiten] = ()) -> Resultaat:
        bad, f = self.resultaat.bevindingen, self.frontier
        self.resultaat.wortel = f.root()
        if head is not None:
            if head.grootte != f.size:
                bad.append(Bevinding("hoofd", f"the log says it has {head.grootte} entries, {f.size} were found"))
            elif head.frontier != f.to_bytes():
                bad.append(
                    Bevinding("hoofd", "its frontier differs from the entries: the log head was changed (corrupted)")
                )
            elif head.wortel != f.root():
                bad.append(Bevinding("hoofd", "the root in the log head differs from the entries"))
            if head.hoogste is not None and head.hoogste >= head.grootte and not head.reeks:
                bad.append(
                    Bevinding(
                        "hoofd", f"it counts {head.grootte} entries, but entries up to number {head.hoogste} exist"
                    )
                )
        for grootte in self.checkpoints:
            if grootte > f.size:
                bad.append(Bevinding(f"checkpoint {grootte}", f"covers {grootte} entries, only {f.size} exist"))
        for b in tegen:
            m = b.data.grootte
            if m == 0:
                continue
            plek = f"checkpoint {m} from {b.naam} ({b.data.tijdstip})"
            if m > f.size:
                bad.append(
                    Bevinding(plek, f"the log was rolled back: that checkpoint covers {m} entries, it has {f.size}")
                )
            elif self.wortels.get(m, f.root() if m == f.size else None) != b.data.wortel:
                bad.append(
                    Bevinding(
                        plek,
                        "the log does not contain that history: its first "
                        f"{m} entries have another root (a fork, or a rollback that was extended again)",
                    )
                )
        return self.resultaat


def verify_rows(
    rows: Iterable[Any],
    checkpoints: dict[int, CheckpointData],
    resultaat: Resultaat,
    *,
    head: Hoofd | None = None,
    progress: Callable[[int], None] | None = None,
) -> Resultaat:
    """Walk the entries in order in this process; ``rows`` have the columns of ``LogregelRij``."""
    rijen = _Rijen(0)
    boom = _Boom(checkpoints, resultaat, progress)
    for row in rows:
        if not rijen.check(row):
            break
        if len(rijen.leaves) >= 10000:
            boom.add(rijen.leaves)
            rijen.leaves = []
    boom.add(rijen.leaves)
    resultaat.bevindingen[:0] = rijen.bad
    controleer_redacties([(a, b) for a, b in rijen.weg], rijen.dekking, resultaat, max(checkpoints, default=0))
    return boom.finish(head)


# --- in parallel, straight from the database ---------------------------------------------------

_KOLOMMEN_SQL = (*_KOLOMMEN, "payload", "payload_verwijderd", "leaf")


def _chunk(args: tuple[str, int, int]) -> tuple[int, bytes, list[Bevinding], bool, list[list[int]], list[Any]]:
    """Check entries lo … hi-1 in a worker process; returns (count, leaves, findings, stopped, entries
    without payload, ranges logged redactions cover).

    The hot loop reads plain tuples from the driver's cursor and inlines the leaf encoding: this is
    where verification spends its time (a test holds it equal to ``leaf_of_row``). Anything unusual
    (a missing payload, a redaction entry, a value of the wrong type) takes the careful path."""
    url, lo, hi = args
    rijen = _Rijen(lo)
    leaves = rijen.leaves
    sha256 = hashlib.sha256
    enc = _s
    redact = redactie.OPERATIE
    with ruwe_regels(url, lo, hi, _KOLOMMEN_SQL) as cur:
        for row in cur:
            v, t, so, op, ac, bid, kv, fc, cid, dig, plen, payload, _mark, leaf = row
            try:
                data = (
                    f'vir-log-v1\n{{"actor":{enc(ac)},"berichtId":{enc(bid)},"correlatieId":{enc(cid)},'
                    f'"foutcode":{enc(fc)},"kruisverwijzing":{enc(kv)},"operatie":{enc(op)},'
                    f'"payloadLengte":{plen},"payloadSha256":"{bytes(dig).hex()}","soort":{enc(so)},'
                    f'"tijdstip":{enc(t)},"volgnummer":{v}}}'
                ).encode()
                ok = (
                    v == rijen.verwacht
                    and op != redact
                    and payload is not None
                    and sha256(b"\x00" + data).digest() == leaf
                    and len(payload) == plen
                    and sha256(payload).digest() == dig
                )
            except _VERKEERD_TYPE:
                ok = False
            if ok:
                leaves.append(bytes(leaf))
                rijen.verwacht += 1
                rijen.schuif = 0
                continue
            ns = SimpleNamespace(**dict(zip(_KOLOMMEN_SQL, row, strict=True)))
            if not rijen.check(ns):
                break
    if not rijen.gestopt and rijen.verwacht < hi:
        rijen.bad.append(Bevinding(f"regel {rijen.verwacht}", "missing"))
        rijen.gestopt = True
    return len(rijen.leaves), b"".join(rijen.leaves), rijen.bad, rijen.gestopt, rijen.weg, rijen.dekking


def verify_database(
    url: str,
    checkpoints: dict[int, CheckpointData],
    resultaat: Resultaat,
    *,
    head: Hoofd,
    workers: int,
    tegen: Sequence[Buiten] = (),
    progress: Callable[[int], None] | None = None,
    chunk: int = 50000,
) -> Resultaat:
    """Verify the stored log with ``workers`` processes checking entries and this one building the tree."""
    import multiprocessing

    grootte = head.grootte
    ranges = [(url, lo, min(lo + chunk, grootte)) for lo in range(0, grootte, chunk)]
    boom = _Boom(checkpoints, resultaat, progress, (b.data.grootte for b in tegen))
    bad: list[Bevinding] = []
    weg: list[tuple[int, int]] = []
    dekking: list[tuple[int, int, int]] = []
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(max(1, workers)) as pool:
        for _count, leaves, findings, gestopt, zonder, gedekt in pool.imap(_chunk, ranges):
            bad.extend(findings)
            weg.extend((a, b) for a, b in zonder)
            dekking.extend(gedekt)
            boom.add(leaves[i : i + 32] for i in range(0, len(leaves), 32))
            if gestopt:
                pool.terminate()
                break
    resultaat.bevindingen[:0] = bad
    controleer_redacties(weg, dekking, resultaat, max(checkpoints, default=0))
    return boom.finish(head, tegen)


def controleer_wachtend(rows: Iterable[Any], grootte: int, resultaat: Resultaat) -> None:
    """The entries of a sequence-numbered log committed after the tree's end (``rows`` in number order, from
    ``grootte`` on): not yet in any tree or checkpoint, so each is checked on its own, its leaf hash against its
    metadata and number and its payload against its digest. Gaps are allowed: a number may belong to a
    transaction still running."""
    for row in rows:
        plek = f"regel {row.volgnummer}"
        if not isinstance(row.volgnummer, int) or row.volgnummer < grootte:
            resultaat.bevindingen.append(Bevinding(plek, "appears again or out of order"))
            continue
        try:
            leaf: bytes | None = leaf_of_row(row)
        except _VERKEERD_TYPE:
            leaf = None
        if leaf is None or leaf != _bytes(row.leaf):
            resultaat.bevindingen.append(
                Bevinding(plek, "not yet in the tree, and its metadata does not match its leaf hash (changed)")
            )
        payload = _bytes(row.payload)
        if row.payload is not None and (
            payload is None
            or _bytes(row.payload_digest) != hashlib.sha256(payload).digest()
            or len(payload) != row.payload_lengte
        ):
            resultaat.bevindingen.append(Bevinding(plek, "its payload does not match the digest it was logged with"))
        resultaat.wachtend += 1
