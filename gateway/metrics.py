"""``/metrics`` in the Prometheus text format.

Per request (counted in the process that served it):

    vir_requests_total{service, operation, fault}        fault is a VIR-… code, or "" for an answer
    vir_request_duration_seconds{service, operation}     histogram
    vir_log_head_held_seconds                            histogram: a transaction holding the log head
    vir_log_head_wait_seconds                            histogram: a transaction waiting for it

Read from the store at each scrape (the same for every worker):

    vir_store_up                                         1 when the database answered the scrape, else 0
    vir_outbox_deliveries{peer, status}                  federation outbox: wachtend, bezig, afgeleverd, dood
    vir_outbox_dead{peer}                                deliveries that gave up (replay with the CLI)
    vir_log_entries                                      size of the message log
    vir_checkpoint_age_seconds                           since the newest signed checkpoint
    vir_retention_last_run_timestamp_seconds             the newest retention run (vir-gateway onderhoud)
    vir_retention_last_run_items{kind}                   what that run did, by kind

Labels carry only service and operation names, fault codes and peer system codes: never an OIN of a
person's organisation in a label, never anything about a youth. Operation names come from the
contract, so a sender cannot mint new label values.

Under gunicorn every worker is a process of its own. ``PROMETHEUS_MULTIPROC_DIR`` (set by
``gateway.server.run`` before the workers fork) switches prometheus-client to its multi-process
mode: each worker writes its counters to files there, and a scrape of any worker adds them all up.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from gateway.errors import StoreError
from store.db import Database, DatabaseUnavailable
from store.logboek import OP_SLOT
from store.stand import lees_stand

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter(
    "vir_requests",
    "SOAP requests answered, by service, operation and fault code (empty for an answer).",
    ["service", "operation", "fault"],
)
DURATION = Histogram(
    "vir_request_duration_seconds",
    "Time from receiving a SOAP request to its answer.",
    ["service", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


LOGHOOFD = Histogram(
    "vir_log_head_held_seconds",
    "Time a transaction held the message log's head: from locking it until its commit or rollback ended.",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
LOGHOOFD_WACHT = Histogram(
    "vir_log_head_wait_seconds",
    "Time a transaction waited for the message log's head before it held it.",
    buckets=(0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)


def transactie_klaar(info: dict[Any, Any]) -> None:
    """A transaction ended (``Database.na_afloop``): how long it held the log head and waited for it. Their sums
    against ``vir_request_duration_seconds`` give the serial fraction of a filing (``bench/endtoend.py``)."""
    op_slot = info.get(OP_SLOT)
    if op_slot is not None:
        sinds, gewacht = op_slot
        LOGHOOFD.observe(time.perf_counter() - sinds)
        LOGHOOFD_WACHT.observe(gewacht)


def tel(service: str, operation: str, fault: str | None, seconds: float) -> None:
    REQUESTS.labels(service, operation, fault or "").inc()
    DURATION.labels(service, operation).observe(seconds)


class StoreCollector(Collector):
    """Gauges read from the database at scrape time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[Any]:
        try:
            with self.db.transaction(write=False) as session:
                stand = lees_stand(session)
        except (StoreError, DatabaseUnavailable):
            yield GaugeMetricFamily("vir_store_up", "Whether the database answered this scrape.", value=0)
            return
        yield GaugeMetricFamily("vir_store_up", "Whether the database answered this scrape.", value=1)
        nu = datetime.now(UTC)
        outbox = GaugeMetricFamily(
            "vir_outbox_deliveries", "Federation outbox rows by peer and status.", labels=["peer", "status"]
        )
        dood = GaugeMetricFamily("vir_outbox_dead", "Deliveries to a peer that gave up.", labels=["peer"])
        peers = sorted({peer for peer, _ in stand.outbox})
        for (peer, status), n in sorted(stand.outbox.items()):
            outbox.add_metric([peer, status], n)
        for peer in peers:
            dood.add_metric([peer], stand.outbox.get((peer, "dood"), 0))
        yield outbox
        yield dood
        yield GaugeMetricFamily("vir_log_entries", "Entries in the message log.", value=stand.log_grootte)
        if stand.checkpoint is not None:
            leeftijd = (nu - stand.checkpoint).total_seconds()
            yield GaugeMetricFamily(
                "vir_checkpoint_age_seconds", "Seconds since the newest signed checkpoint.", value=leeftijd
            )
        if stand.onderhoud is not None:
            yield GaugeMetricFamily(
                "vir_retention_last_run_timestamp_seconds",
                "Unix time of the newest retention run.",
                value=stand.onderhoud.tijdstip.timestamp(),
            )
            items = GaugeMetricFamily(
                "vir_retention_last_run_items", "What the newest retention run did, by kind.", labels=["kind"]
            )
            for soort, n in sorted(stand.onderhoud.aantallen.items()):
                items.add_metric([soort], n)
            yield items


def render(db: Database) -> bytes:
    """The exposition: this process's (or all workers') request metrics, then the store's gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processen = CollectorRegistry()
        MultiProcessCollector(processen)
        verzoeken = generate_latest(processen)
    else:
        verzoeken = generate_latest(REGISTRY)
    opslag = CollectorRegistry(auto_describe=False)
    opslag.register(StoreCollector(db))
    return verzoeken + generate_latest(opslag)
