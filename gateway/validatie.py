"""BerichtValideren's business rules that stand on their own: each is checked against the message and the
sender's profile, so that every finding is reported, not only the first one the handler meets. The dry run
of the handler (``Dienst.in_transactie(proef=True)``) then adds what needs the index (an existing melding,
an unknown meldingId …), unless it stops at a finding already listed here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from typing import Any

from gateway.domain.regels import Regels, bsn_is_geldig
from gateway.errors import RuleError
from gateway.index.bevoegden import Bevoegden
from gateway.profielen import medewerker, xpath_medewerker
from store import models as m


def _filings(op: str, binnen: Any) -> Iterator[tuple[str, Any]]:
    """(XPath of the item, item) of each filing in the message."""
    if op in ("MeldingAfgeven", "CasusGebeurtenis"):
        yield f"/kp:{op}", binnen
    elif op == "MeldingenAfgeven":
        for i, item in enumerate(binnen.item or []):
            yield f"/kp:MeldingenAfgeven/kp:item[{i + 1}]", item


def regelbevindingen(
    op: str, binnen: Any, zender: m.Instantie, regels: Regels, vandaag: date, bevoegden: Bevoegden
) -> list[RuleError]:
    """Every finding of the stand-alone rules of a filing message, in document order."""
    uit: list[RuleError] = []

    def toets(f: Callable[..., Any], *args: Any, **kw: Any) -> None:
        try:
            f(*args, **kw)
        except RuleError as exc:
            uit.append(exc)

    eigen = regels
    if zender.melding_jaren is not None and zender.melding_jaren < regels.max_melding_jaren:
        eigen = replace(regels, max_melding_jaren=zender.melding_jaren)
    sg = binnen.stuurgegevens
    for basis, item in _filings(op, binnen):
        jongere = item.jongere
        if jongere is not None and jongere.bsn is not None:
            pad = f"{basis}/kp:jongere/g:bsn"
            if not zender.bsn_toegestaan:
                uit.append(RuleError(code="VIR-BSN-NIET-TOEGESTAAN", xpath=pad))
            elif not bsn_is_geldig(jongere.bsn):
                uit.append(RuleError(code="VIR-BSN-ONGELDIG", xpath=pad))
            geboren, pad = jongere.geboortedatum, f"{basis}/kp:jongere/g:geboortedatum"
        elif jongere is not None:
            geboren, pad = jongere.zonderBsn.geboortedatum, f"{basis}/kp:jongere/g:zonderBsn/g:geboortedatum"
        else:
            geboren = None
        toets(regels.controleer_leeftijd, geboren, vandaag, pad)
        if getattr(item, "afgeschermd", None) and not zender.mag_afschermen:
            uit.append(RuleError(code="VIR-AFSCHERMEN-NIET-TOEGESTAAN", xpath=f"{basis}/kp:afgeschermd"))
        gevraagd = getattr(item, "geplandeEinddatum", None)
        if gevraagd is not None:
            pad = f"{basis}/kp:geplandeEinddatum"
            toets(eigen.geplande_einddatum, gevraagd, vandaag, vandaag, xpath=pad)
        mb = item.meldingsbevoegde
        if mb is not None:
            code, pad = medewerker(mb, sg), xpath_medewerker(basis, mb, sg)
            toets(bevoegden.controleer, zender, code, pad)
    return uit
