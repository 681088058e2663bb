"""What a filing's message says by itself, read before its transaction.

A filing's youth is checked as far as the message allows (BSN check digit, age, the key of a youth without BSN)
and its professional read, before the write lock is taken (``Operatie.lezen``): for a batch of a thousand that
was some 6 % of the time the lock is held (``bench/README.md``). Only the check that needs the sender's profile
(may it send BSNs?) waits for the transaction, and runs first there, as it always did; a refusal found before is
raised at the youth's step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.domain.jongere import Jongere
from gateway.domain.model import Meldingsbevoegde
from gateway.errors import GatewayError
from gateway.pipeline import Deps, Verzoek
from gateway.sleutels import sleutelring
from gateway.vertaling import (
    controleer_bsn_toegestaan,
    jongere_gelezen,
    meldingsbevoegde_uit_bericht,
)


def item_xpath(i: int) -> str:
    """The XPath of the ``i``-th (from 0) item of a MeldingenAfgeven."""
    return f"/kp:MeldingenAfgeven/kp:item[{i + 1}]"


def jongere_van(v: Verzoek, bericht: Any, xpath: str, gelezen: Jongere | GatewayError) -> Jongere:
    """The youth of the request, from what ``_lees_item`` read of it before the transaction: first the check that
    needs the sender's profile, then a refusal found before (the order the checks always had). A youth
    without BSN known under a key of an earlier version of the national key takes its current key first
    (``gateway.domain.jongere``)."""
    controleer_bsn_toegestaan(bericht, v.zender.bsn_toegestaan, xpath)
    if isinstance(gelezen, GatewayError):
        raise gelezen
    if gelezen.eerdere:
        v.repo.federatie().sleutel_overnemen(gelezen.eerdere, gelezen.sleutel)
    return gelezen


@dataclass(frozen=True)
class GelezenItem:
    """What a filing's message says by itself, read before the transaction (``Operatie.lezen``): its youth, or
    the refusal the youth's fields earn (raised at the youth's step in the transaction), and its professional."""

    jongere: Jongere | GatewayError
    meldingsbevoegde: Meldingsbevoegde | None


def _lees_item(deps: Deps, bericht: Any, mb: Any, nu: datetime, xpath: str) -> GelezenItem:
    jongere = jongere_gelezen(
        bericht,
        regels=deps.regels,
        vandaag=nu.date(),
        xpath=xpath,
        vsn_ring=lambda: sleutelring(deps.settings, "vsn"),
    )
    return GelezenItem(jongere, meldingsbevoegde_uit_bericht(mb) if mb is not None else None)


def lees_melding(deps: Deps, req: Any, nu: datetime) -> GelezenItem:
    return _lees_item(deps, req.jongere, req.meldingsbevoegde, nu, "/kp:MeldingAfgeven/kp:jongere")


def lees_casus(deps: Deps, req: Any, nu: datetime) -> GelezenItem:
    return _lees_item(deps, req.jongere, req.meldingsbevoegde, nu, "/kp:CasusGebeurtenis/kp:jongere")


def lees_meldingen(deps: Deps, req: Any, nu: datetime) -> list[GelezenItem]:
    """A batch's items, read before the write lock is taken."""
    return [
        _lees_item(deps, item.jongere, item.meldingsbevoegde, nu, f"{item_xpath(i)}/kp:jongere")
        for i, item in enumerate(req.item or [])
    ]
