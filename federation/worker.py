"""``vir-gateway worker``: delivers the federation outbox to the peers, with retries and exponential
backoff, never blocking a chain partner's request. Several workers may run at once (on PostgreSQL
they never take the same delivery; on SQLite one is enough). Deliveries and answers are logged.

The worker also pushes signal queues to chain partners with a callback endpoint (``federation.push``),
has our newest checkpoint cosigned by the peers every ``VIR_GETUIGEN_SECONDEN`` (``federation.getuige_zender``)
and runs retention (``gateway.onderhoud``) every ``VIR_ONDERHOUD_SECONDEN`` and once at start."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from federation import ondertekening
from federation.client import OPERATIES, DeliveryError, PeerClient
from federation.getuige_zender import Getuigenis
from federation.push import Pusher
from gateway.config import Settings, klok, tls_client
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel
from gateway.onderhoud import onderhoud
from gateway.uitvoer import spoor
from store import outbox
from store.db import Database
from store.migrate import upgrade

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, settings: Settings, threads: int = 8) -> None:
        self.settings = settings
        self.db = Database(settings.url)
        upgrade(self.db)
        self.logboek = Logboek(settings, self.db)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="federatie")
        self._local = threading.local()
        self.stop = threading.Event()
        self.pusher = Pusher(settings, self.db, self.logboek)
        self.klok = klok(settings)
        self._volgend_onderhoud = 0.0
        self.getuigenis = Getuigenis(settings, self.db, self.logboek, self._peer_client)
        self._volgende_getuigenis = 0.0

    def _client(self, levering: outbox.Levering, oin: str) -> PeerClient:
        return self._peer_client(levering.url, oin)

    def _peer_client(self, url: str, oin: str) -> PeerClient:
        """This thread's client for a peer (its history plugin holds this thread's last exchange)."""
        clients: dict[str, PeerClient] = self._local.__dict__.setdefault("clients", {})
        key = f"{url}|{oin}"
        if key not in clients:
            clients[key] = PeerClient(
                url,
                oin,
                eigen_systeem=self.settings.systeem,
                eigen_oin=self.settings.gateway_oin,
                timeout=self.settings.federatie_timeout,
                plugins=ondertekening.plugins(self.settings),
                tls=tls_client(self.settings),
            )
        return clients[key]

    def deliver(self, levering: outbox.Levering) -> bool:
        nu = datetime.now(UTC)
        bericht_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"vir:{self.settings.systeem}:uitgaand:{levering.id}"))
        try:
            verzonden = self._client(levering, levering.peer_oin).forward(levering.soort, levering.inhoud, bericht_id)
        except DeliveryError as exc:
            dood = outbox.mislukt(
                self.db,
                levering,
                str(exc),
                nu,
                basis=0.5,
                maximum=self.settings.federatie_max_wachttijd,
                max_pogingen=self.settings.federatie_max_pogingen,
            )
            log.warning(
                "delivery %s to %s failed (%s)%s", levering.id, levering.peer, exc, "; now dead" if dood else ""
            )
            return False
        t = self.logboek.nu()
        op = f"federatie:{OPERATIES.get(levering.soort, levering.soort)}"
        outbox.afgeleverd(
            self.db,
            levering,
            lambda s: self.logboek.schrijf(
                s,
                [
                    Logregel(t, "uitgaand", op, f"systeem:{levering.peer}", verzonden.verzoek, bericht_id=bericht_id),
                    Logregel(
                        t, "inkomend", op, f"systeem:{levering.peer}", verzonden.antwoord, kruisverwijzing=bericht_id
                    ),
                ],
            ),
        )
        return True

    def run_once(self, batch: int = 50) -> int:
        """Deliver what is due now; returns how many were attempted."""
        leveringen = outbox.claim(
            self.db, batch, timedelta(seconds=max(30.0, 3 * self.settings.federatie_timeout)), datetime.now(UTC)
        )
        list(self.pool.map(self.deliver, leveringen))
        gepusht = self.pusher.run_once()
        if time.monotonic() >= self._volgend_onderhoud:
            self._volgend_onderhoud = time.monotonic() + self.settings.onderhoud_seconden
            onderhoud(self.settings, self.db, self.logboek, self.klok())
        self.logboek.misschien_checkpoint()
        if self.settings.getuigen_seconden > 0 and time.monotonic() >= self._volgende_getuigenis:
            self._volgende_getuigenis = time.monotonic() + self.settings.getuigen_seconden
            self.getuigenis.run_once(self.pool)
        return len(leveringen) + gepusht

    def run(self, idle: float = 0.2) -> None:
        log.info("federation worker of %s started", self.settings.systeem)
        while not self.stop.is_set():
            try:
                if self.run_once() == 0:
                    self.stop.wait(idle)
            except Exception as exc:
                log.error("federation worker round failed; retrying: %s", spoor(exc))
                self.stop.wait(1.0)
        self.pool.shutdown(wait=True)
