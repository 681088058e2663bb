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
from gateway.log.regel import METADATA_KOLOMMEN, _s, leaf_of_row


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


class _Rijen:
    """Checks each entry on its own: position, leaf hash, payload digest (the parallel part)."""

    def __init__(self, start: int) -> None:
        self.verwacht = start
        self.schuif = 0  # the shift of a run of moved entries already reported
        self.leaves: list[bytes] = []
        self.bad: list[Bevinding] = []
        self.gestopt = False

    def check(self, row: Any) -> bool:
        expected = self.verwacht
        if row.volgnummer != expected:
            if row.volgnummer > expected:
                self.bad.append(Bevinding(f"regel {expected}", f"missing: the next entry is {row.volgnummer}"))
            else:
                self.bad.append(Bevinding(f"regel {row.volgnummer}", "appears again or out of order"))
            self.gestopt = True
            return False
        leaf = leaf_of_row(row)
        if leaf == row.leaf:
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
        if row.payload is not None:
            if hashlib.sha256(row.payload).digest() != row.payload_digest or len(row.payload) != row.payload_lengte:
                self.bad.append(
                    Bevinding(f"regel {expected}", "its payload does not match the digest it was logged with")
                )
        elif row.payload_verwijderd is None:
            self.bad.append(Bevinding(f"regel {expected}", "its payload is gone without a redaction record"))
        self.leaves.append(leaf)
        self.verwacht += 1
        return True


class _Boom:
    """Builds the tree from the recomputed leaves and holds it against every checkpoint (sequential)."""

    def __init__(
        self, checkpoints: dict[int, CheckpointData], resultaat: Resultaat, progress: Callable[[int], None] | None
    ) -> None:
        self.frontier = Frontier()
        self.checkpoints = checkpoints
        self.resultaat = resultaat
        self.progress = progress

    def add(self, leaves: Iterable[bytes]) -> None:
        f, cps, bad = self.frontier, self.checkpoints, self.resultaat.bevindingen
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
        self.resultaat.regels = f.size
        if self.progress is not None:
            self.progress(f.size)

    def finish(self, head: tuple[int, bytes] | None) -> Resultaat:
        bad, f = self.resultaat.bevindingen, self.frontier
        if head is not None:
            grootte, wortel = head
            if grootte != f.size:
                bad.append(Bevinding("hoofd", f"the log says it has {grootte} entries, {f.size} were found"))
            elif wortel != f.root():
                bad.append(Bevinding("hoofd", "the root in the log head differs from the entries"))
        for grootte in self.checkpoints:
            if grootte > f.size:
                bad.append(Bevinding(f"checkpoint {grootte}", f"covers {grootte} entries, only {f.size} exist"))
        return self.resultaat


def verify_rows(
    rows: Iterable[Any],
    checkpoints: dict[int, CheckpointData],
    resultaat: Resultaat,
    *,
    head: tuple[int, bytes] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Resultaat:
    """Walk the entries in order in this process; ``rows`` have the columns of ``LogRegel``."""
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
    return boom.finish(head)


# --- in parallel, straight from the database ---------------------------------------------------

_KOLOMMEN_SQL = (*_KOLOMMEN, "payload", "payload_verwijderd", "leaf")
_engines: dict[str, Any] = {}


def _chunk(args: tuple[str, int, int]) -> tuple[int, bytes, list[Bevinding], bool]:
    """Check entries lo … hi-1 in a worker process; returns (count, leaves, findings, stopped).

    The hot loop reads plain tuples from the driver's cursor and inlines the leaf encoding: this is
    where verification spends its time (a test holds it equal to ``leaf_of_row``)."""
    from sqlalchemy import create_engine

    url, lo, hi = args
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = create_engine(url)
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"SELECT {', '.join(_KOLOMMEN_SQL)} FROM logregel "  # noqa: S608 (fixed column names)
        f"WHERE volgnummer >= {mark} AND volgnummer < {mark} ORDER BY volgnummer"
    )
    rijen = _Rijen(lo)
    leaves = rijen.leaves
    sha256 = hashlib.sha256
    enc = _s
    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        cur.execute(sql, (lo, hi))
        for row in cur:
            v, t, so, op, ac, bid, kv, fc, cid, dig, plen, payload, pver, leaf = row
            dig, leaf = bytes(dig), bytes(leaf)
            data = (
                f'vir-log-v1\n{{"actor":{enc(ac)},"berichtId":{enc(bid)},"correlatieId":{enc(cid)},'
                f'"foutcode":{enc(fc)},"kruisverwijzing":{enc(kv)},"operatie":{enc(op)},'
                f'"payloadLengte":{plen},"payloadSha256":"{dig.hex()}","soort":{enc(so)},'
                f'"tijdstip":{enc(t)},"volgnummer":{v}}}'
            ).encode()
            ok = (
                v == rijen.verwacht
                and sha256(b"\x00" + data).digest() == leaf
                and (
                    (payload is None and pver is not None)
                    or (payload is not None and len(payload) == plen and sha256(payload).digest() == dig)
                )
            )
            if ok:
                leaves.append(leaf)
                rijen.verwacht += 1
                rijen.schuif = 0
                continue
            # Something is wrong with this entry: the careful path names it.
            ns = SimpleNamespace(**dict(zip(_KOLOMMEN_SQL, row, strict=True)))
            ns.payload_digest, ns.leaf = dig, leaf
            ns.payload = bytes(payload) if payload is not None else None
            if not rijen.check(ns):
                break
    finally:
        raw.close()
    if not rijen.gestopt and rijen.verwacht < hi:
        rijen.bad.append(Bevinding(f"regel {rijen.verwacht}", "missing"))
        rijen.gestopt = True
    return len(rijen.leaves), b"".join(rijen.leaves), rijen.bad, rijen.gestopt


def verify_database(
    url: str,
    checkpoints: dict[int, CheckpointData],
    resultaat: Resultaat,
    *,
    head: tuple[int, bytes],
    workers: int,
    progress: Callable[[int], None] | None = None,
    chunk: int = 50000,
) -> Resultaat:
    """Verify the stored log with ``workers`` processes checking entries and this one building the tree."""
    import multiprocessing

    grootte = head[0]
    ranges = [(url, lo, min(lo + chunk, grootte)) for lo in range(0, grootte, chunk)]
    boom = _Boom(checkpoints, resultaat, progress)
    bad: list[Bevinding] = []
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(max(1, workers)) as pool:
        for _count, leaves, findings, gestopt in pool.imap(_chunk, ranges):
            bad.extend(findings)
            boom.add(leaves[i : i + 32] for i in range(0, len(leaves), 32))
            if gestopt:
                pool.terminate()
                break
    resultaat.bevindingen[:0] = bad
    return boom.finish(head)
