"""Settings of one gateway process: a frozen dataclass, read from the environment in one place.

Every default is the safe one: the law's numbers for the rules, loopback-only development mode,
and limits that refuse oversized or deeply nested input before it costs memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.adres import publieke_url_geldig

DEMO_GATEWAY_OIN = "00000001000000000000"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("vir-data")
    """Where the embedded SQLite database lives (created on first start)."""

    database_url: str | None = None
    """SQLAlchemy URL; None means SQLite in ``data_dir``. PostgreSQL: ``postgresql+psycopg://…``."""

    gateway_oin: str = DEMO_GATEWAY_OIN
    """This gateway's own OIN; requests addressed (``ontvanger``) to another OIN are refused."""

    applicatie: str = "vir-gateway"
    """Our name as ``zender/applicatie`` in answers."""

    development: bool = True
    """Identity from ``stuurgegevens/zender/oin`` instead of a client certificate. Safe only because
    ``serve`` then refuses every address but loopback."""

    max_request_bytes: int = 4 * 1024 * 1024
    """Larger bodies are refused before parsing (a batch of 1,000 meldingen is about 0.7 MiB)."""

    max_afvoer_bytes: int = 64 * 1024 * 1024
    """A body above ``max_request_bytes`` is read and discarded up to this many bytes, so that a client
    that does not wait for ``100 Continue`` still receives VIR-BERICHT-TE-GROOT; beyond it the
    connection is closed (reading more would let anyone keep a worker busy for free)."""

    max_melding_jaren: int = 2
    """Jeugdwet: a melding ends at the latest two years after filing."""

    max_leeftijd: int = 23
    """Jeugdwet: the index is for youths up to their 23rd birthday."""

    archief_jaren: int = 5
    """Archived meldingen (risk gone, expired) are kept this long."""

    max_pagina_grootte: int = 100
    """Default page size of MatchesOpvragen."""

    max_signalen: int = 100
    """Default number of signals one SignalenOphalen returns."""

    log_key: Path | None = None
    """PEM private key (RSA-2048+ or ECDSA P-256) that signs log checkpoints. None in development
    mode: a key pair is generated under ``data_dir/keys`` on first start (and its place printed)."""

    log_cert: Path | None = None
    """PEM certificate of ``log_key``, handed to auditors to verify checkpoints."""

    checkpoint_seconden: float = 10.0
    """A checkpoint is signed at least this often while the log grows."""

    checkpoint_regels: int = 1000
    """…and whenever this many entries arrived since the last one."""

    getuigen_seconden: float = 10.0
    """How often the worker asks the peers to cosign our newest checkpoint (docs/getuigen.md); 0 switches
    it off. Ten seconds keeps every peer's view of our log at most a few checkpoints old."""

    log_bewaar_jaren: int = 7
    """Log payloads older than this are removed by the retention run (a logged redaction; digests
    and proofs stay). Seven years is the retention the log's evidence is kept for (SPEC §1)."""

    bench_zonder_log: bool = False
    """Benchmarks only: switch the log writer off to measure what it costs. Never in production:
    nothing would be logged. ``serve`` says so loudly."""

    systeem: str = "VIRGW"
    """This node's system code in the federation (MULTISIGNAAL, ZVJ, MOP, VIS2, LVI, …)."""

    federatie_hub: bool = False
    """A hub (the national index) stores every system's meldingen and forwards each to the systems with a melding
    on the same youth (docs/federation.md). Off: this node stores another system's melding only while it has an
    active melding on the youth itself."""

    federatie_sleutel: Path | None = None
    """The federation key ring (``gateway.sleutels``): youth keys cross the border only as an HMAC-SHA256
    pseudonym under it, so a peer learns nothing of a youth it holds no melding on, and nobody outside the
    federation can test a BSN against a pseudonym. Required outside development mode; every peer holds the
    same file. None in development: generated under ``data_dir/keys`` on first use."""

    vsn_sleutel: Path | None = None
    """The national key ring of the verwijsindex-servicenummer (youths without BSN): the number is an
    HMAC-SHA256 of name, birth date and sex under it, so it cannot be computed by someone who knows those (a
    dictionary of names and dates is small). Required outside development mode; every node holds the same file.
    None in development: generated under ``data_dir/keys`` on first use."""

    federatie_timeout: float = 10.0
    """Seconds a peer gets to answer one delivery."""

    federatie_max_pogingen: int = 50
    """After this many failed attempts a delivery is dead (an operator can replay it)."""

    federatie_max_wachttijd: float = 60.0
    """Backoff between attempts doubles from 0.5 s up to this many seconds."""

    federatie_wss_verplicht: bool = True
    """Outside development mode every peer must sign its messages (WS-Security), verified against the
    certificate registered for it. ``VIR_FEDERATIE_WSS_VERPLICHT=0`` relaxes this to peers with a registered
    certificate, for a federation that relies on mutual TLS alone; the safe default is on."""

    verloop_waarschuwing_dagen: int = 30
    """Chain partners get ``meldingVerlooptBinnenkort`` this many days before a melding's planned end date."""

    onderhoud_seconden: float = 3600.0
    """``vir-gateway worker`` runs retention (``vir-gateway onderhoud``) this often, and once at start."""

    herhaalvenster_dagen: int = 7
    """Stored answers (table ``bericht``) are kept this long, so that a partner's retry with the same berichtId
    gets the original answer; the retention run then deletes them (they hold contact cards). A retry after
    the window is handled as a new request. A week covers a partner's outage over a long weekend."""

    signaal_dagen: int = 90
    """A signal a partner has not fetched and acknowledged is deleted this many days after it arose (an
    acknowledged one, once pushed where a callback is registered, at the next retention run): the queue is
    bounded in time even for a partner that never reads it."""

    klok_bestand: Path | None = None
    """Development mode only: read the current time from this file (ISO 8601) instead of the system
    clock, so that retention can be exercised through the live service. Refused outside development."""

    tls_cert: Path | None = None
    """PEM server certificate: the gateway terminates TLS itself and requires client certificates."""

    tls_key: Path | None = None
    """PEM private key of ``tls_cert``."""

    tls_ca: Path | None = None
    """PEM bundle of the CAs whose client certificates are accepted (PKIoverheid: the private services
    CA chain). Required with ``tls_cert`` and with ``proxy_adressen``."""

    tls_crl: Path | None = None
    """PEM certificate revocation list; revoked client certificates are refused."""

    tls_client_cert: Path | None = None
    """PEM client certificate (with ``tls_client_key``) this gateway presents to peers and push endpoints
    that require mutual TLS; their server certificates are checked against ``tls_ca`` when set."""

    tls_client_key: Path | None = None

    proxy_adressen: tuple[str, ...] = ()
    """Addresses of the reverse proxies (nginx) that terminate TLS and forward the verified client
    certificate; the forwarded certificate is believed from these addresses only."""

    beheer_ca: Path | None = None
    """PEM bundle of the operator CA: console users (``/beheer/``) present a certificate issued directly by
    it, registered with ``vir-gateway beheerder add``. Separate from ``tls_ca``, so that no chain partner's
    certificate can ever open the console. Without it, the console is closed outside development mode."""

    beheer_crl: Path | None = None
    """PEM revocation list of the operator CA (required with ``tls_crl``: the handshake checks every leaf)."""

    wss_key: Path | None = None
    """PEM key that signs our WS-Security answers (and messages to peers and push endpoints); by
    default the log-signing key. Its certificate (``wss_cert``) is what partners register for us."""

    wss_cert: Path | None = None

    wss_venster: float = 300.0
    """Seconds a WS-Security Timestamp may be old or ahead (clock skew), and a MessageID is remembered."""

    profiel_cache: float = 1.0
    """Seconds a worker keeps a sender's signing profile (registered certificate, must it sign) before it
    reads it again (``VIR_PROFIEL_CACHE_S``): an operator's change takes effect within this time. Whether
    a sender is registered and active is read in every request's own transaction, never from here."""

    keepalive: int = 0
    """Seconds a connection a client keeps open may stay idle before its next request, and a new one before its
    first (``VIR_KEEPALIVE_S``, 0 to 300); the gateway then closes it. 0: a connection per request (gunicorn's
    sync workers). Default 2 when the gateway terminates TLS, where a handshake costs more than a filing, else 0:
    on loopback or a proxy's network a connection costs little, and one per request lets the kernel give each
    request to whichever worker is free (``bench/README.md``, "Kept connections")."""

    worker_timeout: int = 60
    """A request still running after this many seconds ends its worker process, which gunicorn's arbiter then
    replaces (``VIR_WORKER_TIMEOUT_S``): the caller gets no answer and retries under its berichtId, which the
    store answers as it was committed, or not at all. Raise it only for batches that legitimately take longer."""

    lees_timeout: int = 10
    """Seconds a client may send nothing in the middle of its request (its request line, headers or body, and on
    a new connection before its first byte) before the gateway closes the connection (``VIR_READ_TIMEOUT_S``, 1
    or more): what nginx's ``client_header_timeout`` and ``client_body_timeout`` do. It counts from each read, so
    it ends a stalled client, not a slow upload; a request that trickles on is ended by ``worker_timeout``. The
    worker goes on serving others; before, a stalled client held it until the worker timeout ended the worker,
    and every connection it held. Capped at ``worker_timeout`` less one second (``Settings.stilte``)."""

    rapport_drempel: int = 5
    """Published management information shows no count below this number (``VIR_RAPPORT_DREMPEL``;
    ``rapport cijfers``/``rapport jaar --drempel`` per report): such a count is ``<5`` and more cells are
    hidden so that no total gives it away (docs/rapportage.md). 5 is the usual floor in Dutch statistics
    on youth care; 1 shows everything, for an operator's own use only."""

    operator: str | None = None
    """Who runs operator commands, as the message log names them (``VIR_OPERATOR``); None means the
    process's login name. Every operator action is accountable to a person (NEN 7513)."""

    publieke_url: str | None = None
    """Scheme, host and optional path prefix under which clients reach this gateway (behind a proxy:
    its public name), written into the served WSDLs' addresses. None: the address each WSDL request
    came in at."""

    metrics_dir: Path | None = None
    """Where the gunicorn workers keep their request counters for ``/metrics`` (emptied at start; one
    directory per ``serve`` process). None: a fresh temporary directory, removed at exit."""

    proceslog: str = "json"
    """The per-request line on standard error: ``json`` for a log collector, ``tekst`` for a person
    reading a terminal. Either way it holds no personal data."""

    extra: dict[str, str] = field(default_factory=dict)

    @property
    def identiteit(self) -> str:
        """How the caller is identified: ``tls``, ``proxy`` or ``ontwikkeling`` (stuurgegevens, loopback only)."""
        if self.tls_cert is not None:
            return "tls"
        if self.proxy_adressen:
            return "proxy"
        return "ontwikkeling"

    @property
    def stilte(self) -> int:
        """The read timeout in force: ``lees_timeout``, below the worker timeout, so that it ends the connection
        before the worker timeout ends the worker."""
        return max(1, min(self.lees_timeout, self.worker_timeout - 1))

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vir-gateway.sqlite3').resolve()}"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def from_env(environ: dict[str, str] | None = None) -> Settings:
    """Settings from ``VIR_*`` environment variables; the only place the environment is read."""
    env = os.environ if environ is None else environ
    s = Settings()
    changes: dict[str, object] = {}
    if v := env.get("VIR_DATA_DIR"):
        changes["data_dir"] = Path(v)
    if v := env.get("VIR_DATABASE_URL"):
        changes["database_url"] = v
    if v := env.get("VIR_GATEWAY_OIN"):
        changes["gateway_oin"] = v
    if v := env.get("VIR_MAX_REQUEST_BYTES"):
        changes["max_request_bytes"] = int(v)
    if v := env.get("VIR_MAX_AFVOER_BYTES"):
        changes["max_afvoer_bytes"] = int(v)
    if v := env.get("VIR_MAX_MELDING_JAREN"):
        changes["max_melding_jaren"] = int(v)
    if v := env.get("VIR_MAX_LEEFTIJD"):
        changes["max_leeftijd"] = int(v)
    if v := env.get("VIR_ARCHIEF_JAREN"):
        changes["archief_jaren"] = int(v)
    if v := env.get("VIR_LOG_KEY"):
        changes["log_key"] = Path(v)
    if v := env.get("VIR_LOG_CERT"):
        changes["log_cert"] = Path(v)
    if v := env.get("VIR_CHECKPOINT_SECONDEN"):
        changes["checkpoint_seconden"] = float(v)
    if v := env.get("VIR_CHECKPOINT_REGELS"):
        changes["checkpoint_regels"] = int(v)
    if v := env.get("VIR_GETUIGEN_SECONDEN"):
        changes["getuigen_seconden"] = float(v)
    if v := env.get("VIR_LOG_BEWAAR_JAREN"):
        changes["log_bewaar_jaren"] = int(v)
    if v := env.get("VIR_SYSTEEM"):
        changes["systeem"] = v
    if env.get("VIR_FEDERATIE_HUB") == "1":
        changes["federatie_hub"] = True
    if v := env.get("VIR_FEDERATIE_SLEUTEL"):
        changes["federatie_sleutel"] = Path(v)
    if v := env.get("VIR_VSN_SLEUTEL"):
        changes["vsn_sleutel"] = Path(v)
    if v := env.get("VIR_FEDERATIE_TIMEOUT"):
        changes["federatie_timeout"] = float(v)
    if v := env.get("VIR_FEDERATIE_MAX_POGINGEN"):
        changes["federatie_max_pogingen"] = int(v)
    if v := env.get("VIR_FEDERATIE_MAX_WACHTTIJD"):
        changes["federatie_max_wachttijd"] = float(v)
    if env.get("VIR_FEDERATIE_WSS_VERPLICHT") == "0":
        changes["federatie_wss_verplicht"] = False
    if v := env.get("VIR_VERLOOP_WAARSCHUWING_DAGEN"):
        changes["verloop_waarschuwing_dagen"] = int(v)
    if v := env.get("VIR_ONDERHOUD_SECONDEN"):
        changes["onderhoud_seconden"] = float(v)
    if v := env.get("VIR_HERHAALVENSTER_DAGEN"):
        changes["herhaalvenster_dagen"] = int(v)
    if v := env.get("VIR_SIGNAAL_DAGEN"):
        changes["signaal_dagen"] = int(v)
    if v := env.get("VIR_KLOK_BESTAND"):
        changes["klok_bestand"] = Path(v)
    for naam, sleutel in (
        ("VIR_TLS_CERT", "tls_cert"),
        ("VIR_TLS_KEY", "tls_key"),
        ("VIR_TLS_CA", "tls_ca"),
        ("VIR_TLS_CRL", "tls_crl"),
        ("VIR_TLS_CLIENT_CERT", "tls_client_cert"),
        ("VIR_TLS_CLIENT_KEY", "tls_client_key"),
        ("VIR_WSS_KEY", "wss_key"),
        ("VIR_WSS_CERT", "wss_cert"),
        ("VIR_BEHEER_CA", "beheer_ca"),
        ("VIR_BEHEER_CRL", "beheer_crl"),
    ):
        if v := env.get(naam):
            changes[sleutel] = Path(v)
    if v := env.get("VIR_WSS_VENSTER"):
        changes["wss_venster"] = float(v)
    if v := env.get("VIR_PROFIEL_CACHE_S"):
        changes["profiel_cache"] = float(v)
    if v := env.get("VIR_PROXY_ADRESSEN"):
        changes["proxy_adressen"] = tuple(a.strip() for a in v.split(",") if a.strip())
    if "tls_cert" in changes or "proxy_adressen" in changes:
        changes["development"] = False
    if v := env.get("VIR_OPERATOR"):
        changes["operator"] = v
    if v := env.get("VIR_KEEPALIVE_S"):
        if not 0 <= int(v) <= 300:
            raise ValueError("VIR_KEEPALIVE_S is between 0 and 300 seconds")
        changes["keepalive"] = int(v)
    elif "tls_cert" in changes:
        changes["keepalive"] = 2
    if v := env.get("VIR_WORKER_TIMEOUT_S"):
        if int(v) < 2:  # a worker says it is alive once a second
            raise ValueError("VIR_WORKER_TIMEOUT_S must be 2 or more")
        changes["worker_timeout"] = int(v)
    if v := env.get("VIR_READ_TIMEOUT_S"):
        if int(v) < 1:
            raise ValueError("VIR_READ_TIMEOUT_S must be 1 or more")
        changes["lees_timeout"] = int(v)
    if v := env.get("VIR_RAPPORT_DREMPEL"):
        if int(v) < 1:
            raise ValueError("VIR_RAPPORT_DREMPEL must be 1 or more")
        changes["rapport_drempel"] = int(v)
    if v := env.get("VIR_PUBLIEKE_URL"):
        if not publieke_url_geldig(v):
            raise ValueError("VIR_PUBLIEKE_URL must be an absolute http(s) URL without query or fragment")
        changes["publieke_url"] = v
    if v := env.get("VIR_METRICS_DIR"):
        changes["metrics_dir"] = Path(v)
    if v := env.get("VIR_PROCESLOG"):
        if v not in ("json", "tekst"):
            raise ValueError("VIR_PROCESLOG is json or tekst")
        changes["proceslog"] = v
    if env.get("VIR_BENCH_ZONDER_LOG") == "1":
        changes["bench_zonder_log"] = True
    return s.with_(**changes) if changes else s


def klok(settings: Settings) -> Callable[[], datetime]:
    """The clock of the domain rules: the system clock, or in development mode the simulated one of
    ``klok_bestand`` (re-read on every call, so a test can move time forward under a running server)."""
    pad = settings.klok_bestand
    if pad is None:
        return lambda: datetime.now(UTC)
    if not settings.development:
        raise ValueError("VIR_KLOK_BESTAND is only allowed in development mode")

    def gesimuleerd() -> datetime:
        dt = datetime.fromisoformat(pad.read_text().strip())
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)

    return gesimuleerd


def tls_client(settings: Settings) -> dict[str, Any]:
    """``requests`` options for our outgoing calls: our client certificate, and the CA bundle that vouches
    for the other side (else the system's)."""
    opties: dict[str, Any] = {}
    if settings.tls_client_cert is not None and settings.tls_client_key is not None:
        opties["cert"] = (str(settings.tls_client_cert), str(settings.tls_client_key))
    if settings.tls_ca is not None:
        opties["verify"] = str(settings.tls_ca)
    return opties
