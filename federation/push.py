"""Push of the signal queue to chain partners that registered a callback endpoint (``wsdl/signalen.wsdl``).

The queue is the same one ``SignalenOphalen`` reads; the instantie's ``push_tot`` is the outbox
cursor: the highest number the partner confirmed. ``vir-gateway worker`` sends the next signals after
it, at most ``PER_BERICHT`` at a time and in order, and moves the cursor only to what the partner
says it stored. A partner that is down gets the same signals again later, with exponential backoff
(0.5 s doubling up to ``VIR_FEDERATIE_MAX_WACHTTIJD``) and no limit on attempts: nothing is lost,
and the partner can always pull as well. Pushed signals count as acknowledged for the pull queue.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from federation import ondertekening
from federation.client import DeliveryError, bezorging, soap_dienst, verzonden_enveloppen
from gateway import ns
from gateway.config import Settings, tls_client
from gateway.domain.model import Contactkaart, MatchBeeld, SignaalBeeld
from gateway.index import signaal_beeld
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel
from store.db import Database
from store.pushwachtrij import Pushwachtrij
from store.repository import Repository

log = logging.getLogger(__name__)

PER_BERICHT = 100
_BINDING = f"{{{ns.SIGNALEN}}}SignalenSoap11Binding"


def _kaart_naar_zeep(k: Contactkaart) -> dict[str, Any]:
    return {
        "instantie": {"oin": k.oin, "naam": k.naam, "vestiging": k.vestiging},
        "meldingsbevoegde": asdict(k.meldingsbevoegde),
        "bronsysteem": k.bronsysteem,
    }


def _match_naar_zeep(b: MatchBeeld) -> dict[str, Any]:
    return {
        "matchId": b.match_id,
        "meldingId": b.melding_id,
        "soort": b.soort,
        "status": b.status,
        "sinds": b.sinds,
        "partij": [_kaart_naar_zeep(p) for p in b.partijen],
        "regievoerder": b.regievoerder,
        "laatsteAfstemming": b.laatste_afstemming,
    }


def signaal_naar_zeep(s: SignaalBeeld) -> dict[str, Any]:
    """A signal as zeep sends it; the same content as SignalenOphalen returns."""
    return {
        "volgnummer": s.volgnummer,
        "soort": s.soort,
        "tijdstip": s.tijdstip if s.tijdstip.tzinfo else s.tijdstip.replace(tzinfo=UTC),
        "meldingId": s.melding_id,
        "match": _match_naar_zeep(s.match) if s.match else None,
        "archiefsignaal": {"partij": [_kaart_naar_zeep(k) for k in s.archief]} if s.archief else None,
        "einddatum": s.einddatum,
    }


class PushClient:
    def __init__(
        self, url: str, timeout: float, plugins: list[Any] | None = None, tls: dict[str, Any] | None = None
    ) -> None:
        self.svc, self.history = soap_dienst("signalen.wsdl", _BINDING, url, timeout=timeout, plugins=plugins, tls=tls)

    def afleveren(self, sg: dict[str, Any], signalen: list[dict[str, Any]]) -> tuple[bytes, bytes, int]:
        with bezorging("endpoint unreachable"):
            r = self.svc.SignalenAfleveren(stuurgegevens=sg, signaal=signalen)
            ontvangen = int(r.ontvangenTotEnMet)
        return (*verzonden_enveloppen(self.history), ontvangen)


class Pusher:
    def __init__(self, settings: Settings, db: Database, logboek: Logboek) -> None:
        self.settings = settings
        self.db = db
        self.logboek = logboek
        self.clients: dict[str, PushClient] = {}

    def _client(self, url: str) -> PushClient:
        if url not in self.clients:
            self.clients[url] = PushClient(
                url,
                self.settings.federatie_timeout,
                ondertekening.plugins(self.settings),
                tls_client(self.settings),
            )
        return self.clients[url]

    def run_once(self) -> int:
        """Push what is due now; returns how many signals the partners confirmed."""
        nu = datetime.now(UTC)
        with self.db.transaction(write=False) as s:
            due = Pushwachtrij(s).te_pushen(nu)
        totaal = 0
        for instantie_id, oin, url, tot, pogingen in due:
            if url:
                totaal += self._push(instantie_id, oin, url, tot, pogingen, nu)
        return totaal

    def _push(self, instantie_id: int, oin: str, url: str, tot: int, pogingen: int, nu: datetime) -> int:
        with self.db.transaction(write=False) as s:
            rijen = Repository(s).signalen_na(instantie_id, tot, PER_BERICHT)
            signalen = [signaal_naar_zeep(signaal_beeld(r)) for r in rijen]
        if not signalen:
            return 0
        bericht_id = str(uuid.uuid4())
        sg = {
            "berichtId": bericht_id,
            "tijdstip": nu,
            "zender": {"oin": self.settings.gateway_oin, "applicatie": self.settings.applicatie},
            "ontvanger": {"oin": oin},
        }
        try:
            verzoek, antwoord, ontvangen = self._client(url).afleveren(sg, signalen)
            hoogste = signalen[-1]["volgnummer"]
            if ontvangen > hoogste:
                raise DeliveryError(f"confirmed {ontvangen}, beyond the {hoogste} sent")
            if ontvangen <= tot:
                raise DeliveryError("the partner confirmed none of the signals")
        except DeliveryError as exc:
            wacht = min(0.5 * 2**pogingen, self.settings.federatie_max_wachttijd)
            with self.db.transaction() as s:
                Pushwachtrij(s).mislukt(instantie_id, pogingen + 1, nu + timedelta(seconds=wacht), str(exc))
            log.warning("push to instantie %s failed (%s); next attempt in %.1f s", oin, exc, wacht)
            return 0
        t = self.logboek.nu()
        with self.db.transaction() as s:
            Pushwachtrij(s).bevestigd(instantie_id, max(tot, ontvangen))
            self.logboek.schrijf(
                s,
                [
                    Logregel(t, "uitgaand", "push:SignalenAfleveren", oin, verzoek, bericht_id=bericht_id),
                    Logregel(t, "inkomend", "push:SignalenAfleveren", oin, antwoord, kruisverwijzing=bericht_id),
                ],
            )
        return max(0, ontvangen - tot)
