"""A worker keeps a sender's signing profile for ``profiel_cache`` seconds, then reads it again."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from gateway.app import maak_deps
from gateway.config import Settings
from gateway.pipeline import Deps
from store.migrate import upgrade
from store.repository import Repository

OIN = "00000001003214345000"


def _zet_verplicht(deps: Deps, verplicht: bool) -> None:
    with deps.db.transaction() as s:
        inst = Repository(s).instantie(OIN)
        assert inst is not None
        inst.certificaat = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"
        inst.wss_verplicht = verplicht


def test_a_profile_change_takes_effect_after_the_cache_time(tmp_path: Path) -> None:
    deps = maak_deps(Settings(data_dir=tmp_path, profiel_cache=0.5))
    upgrade(deps.db)
    with deps.db.transaction() as s:
        Repository(s).add_instantie(OIN, "Jeugdzorg Noord", None, datetime.now(UTC))
    try:
        assert deps.wss_profiel(OIN) == (None, False)
        _zet_verplicht(deps, True)
        begin = time.monotonic()
        gezien = deps.wss_profiel(OIN)
        if time.monotonic() - begin < 0.4:
            assert gezien == (None, False)  # still the kept profile
        while time.monotonic() - begin < 0.6:
            time.sleep(0.05)
        profiel = deps.wss_profiel(OIN)
        assert profiel is not None
        pem, verplicht = profiel
        assert verplicht is True and pem is not None and pem.startswith(b"-----BEGIN CERTIFICATE")
    finally:
        deps.db.dispose()


def test_without_a_cache_every_request_reads_the_profile(tmp_path: Path) -> None:
    deps = maak_deps(Settings(data_dir=tmp_path, profiel_cache=0.0))
    upgrade(deps.db)
    with deps.db.transaction() as s:
        Repository(s).add_instantie(OIN, "Jeugdzorg Noord", None, datetime.now(UTC))
    try:
        assert deps.wss_profiel(OIN) == (None, False)
        _zet_verplicht(deps, True)
        assert deps.wss_profiel(OIN) == (b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", True)
        assert deps.wss_profiel("00000009999999999999") == (None, False)  # unknown: nothing to require
    finally:
        deps.db.dispose()
