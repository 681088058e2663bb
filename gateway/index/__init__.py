"""The verwijsindex operations, inside one transaction, one module per use case.

Each operation takes the authenticated instantie and plain values, applies the rules of ``gateway.domain``
and persists through ``store.repository``. A refusal is a ``RuleError`` that names the field of the request
(``veld``); the service that read the request turns it into the contract's XPath.

    kern        the state of one transaction, contact cards, match views, signals and counts (``afronden``)
    gezin       family matches (population register)
    indienen    filing a melding: MeldingAfgeven
    reeks       filing a batch, set-based: MeldingenAfgeven
    wijzigen    changing and ending a melding; end-date and moving signals
    ontvangst   meldingen of other systems (federation)
    regie       care coordination: RegievoerderVastleggen, AfstemmingVastleggen
    casus       automation: CasusGebeurtenis
    opvragen    reads: MatchesOpvragen, SignalenOphalen, SignalenBevestigen
"""

from __future__ import annotations

from gateway.index.casus import Casus, CasusResultaat
from gateway.index.indienen import Afgegeven
from gateway.index.kern import ANONIEME_KAART, afschermkaart, compact, kaart, signaal_beeld
from gateway.index.ontvangst import Ontvangst
from gateway.index.opvragen import Opvragen, Signalen
from gateway.index.reeks import Aanvraag, Reeks
from gateway.index.regie import Regie
from gateway.index.wijzigen import Beeindigd


class Verwijsindex(Casus, Ontvangst, Reeks, Regie, Opvragen):
    """Every use case of the index over one transaction (see ``Kern``)."""


__all__ = [
    "ANONIEME_KAART",
    "Aanvraag",
    "Afgegeven",
    "Beeindigd",
    "CasusResultaat",
    "Signalen",
    "Verwijsindex",
    "afschermkaart",
    "compact",
    "kaart",
    "signaal_beeld",
]
