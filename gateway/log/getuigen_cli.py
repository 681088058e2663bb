"""``vir-gateway log getuigen``: who witnesses whom (docs/getuigen.md).

Per registered peer: the newest of our checkpoints it cosigned and the newest of its checkpoints we cosigned,
with their times; then every split view a peer presented, one ``SPLIT VIEW`` line each. Exit 0 when no peer
ever presented a split view, 1 when one did (the operator must look). The read is logged like every read.
"""

from __future__ import annotations

import argparse
from typing import Any

from gateway.log.opdracht import audit, open_log, uit, veilig
from store.getuigen import Getuigen


def _wanneer(grootte: int | None, tijdstip: str | None) -> str:
    return "-" if grootte is None else f"{grootte} at {tijdstip}"


def cmd_getuigen(args: argparse.Namespace) -> int:
    _, db, logboek = open_log()
    with db.transaction(write=False) as s:
        getuigen = Getuigen(s)
        stand = getuigen.stand()
        gesplitst = getuigen.gesplitste_zichten()
    uit(f"{'peer':<14} {'ours, cosigned by the peer':<44} {'theirs, cosigned by us'}")
    for p in stand:
        noot = [] if p.actief else ["suspended"]
        if not p.sleutel:
            noot.append("no checkpoint certificate registered")
        if p.gesplitst:
            noot.append(f"{p.gesplitst} split view(s)")
        regel = f"{p.peer:<14} {_wanneer(p.ons_grootte, p.ons_tijdstip):<44} {_wanneer(p.hun_grootte, p.hun_tijdstip)}"
        uit(regel + (f"  ({'; '.join(noot)})" if noot else ""))
    for g in gesplitst:
        entry = f"; log entry {g.volgnummer}" if g.volgnummer is not None else ""
        uit(
            f"SPLIT VIEW {g.peer} at {g.tijdstip}: {g.reden} "
            f"(cosigned checkpoint {g.bekend_grootte}, presented {g.nieuw_grootte}{entry})"
        )
    audit(logboek, args, "inzage", {"peers": len(stand), "gesplitst": len(gesplitst)})
    return 1 if gesplitst else 0


def add_parser(ls: Any) -> None:
    x = ls.add_parser(
        "getuigen", help="per peer: the newest checkpoints cosigned either way, and any split view (exit 1)"
    )
    x.set_defaults(fn=veilig(cmd_getuigen))
