"""The verwijsindex-servicenummer of a youth without BSN is keyed under the national key (``VIR_VSN_SLEUTEL``),
versioned, and a youth known under an earlier version takes the current key when it is filed again; through a
real gateway process."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support import A, B, client, sg, start_server

JONGERE = {"geslachtsnaam": "Çelik", "voorvoegsel": "van", "geboortedatum": date(2015, 3, 1), "geslacht": "V"}


def _vsn(geheim: bytes, versie: int) -> str:
    mac = hmac.new(geheim, b"vir-vsn\0vancelik|2015-03-01|V", hashlib.sha256).hexdigest()
    return f"vsn:{versie}:{mac[:32]}"


def _sleutels(db_url: str) -> list[str]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT sleutel FROM jongere WHERE sleutel LIKE 'vsn:%'"))]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_the_servicenummer_is_keyed_and_a_new_key_version_takes_over_known_youths(tmp_path: Path) -> None:
    een, twee = os.urandom(32), os.urandom(32)
    ring = tmp_path / "vsn.sleutel"
    ring.write_text(f"1 {een.hex()}\n")
    srv = start_server(tmp_path, None, extra_env={"VIR_VSN_SLEUTEL": str(ring)})
    try:
        svc = client(srv)
        eerste = svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"zonderBsn": JONGERE}, meldingsbevoegde={"naam": "X"})
        # Keyed: the number is the HMAC under the configured key, not a hash anyone can compute from the name.
        assert _sleutels(srv.db_url) == [_vsn(een, 1)]
        onversleuteld = hashlib.sha256(b"v1|vancelik|2015-03-01|V").hexdigest()[:16]
        assert onversleuteld not in _vsn(een, 1)

        # The national key is rotated: version 2 is added to the ring (read again without a restart). The next
        # filing on the youth finds it under version 1, gives its row the version-2 key, and matches.
        ring.write_text(f"1 {een.hex()}\n2 {twee.hex()}\n")
        tweede = svc.MeldingAfgeven(stuurgegevens=sg(B), jongere={"zonderBsn": JONGERE}, meldingsbevoegde={"naam": "Y"})
        assert [p.instantie.oin for p in tweede.match[0].partij] == [A]
        assert _sleutels(srv.db_url) == [_vsn(twee, 2)]
        for oin, melding in ((A, eerste), (B, tweede)):
            svc.MeldingBeeindigen(stuurgegevens=sg(oin), meldingId=melding.meldingId, reden="onterecht")
    finally:
        srv.stop()


def test_outside_development_mode_the_national_key_is_required(tmp_path: Path) -> None:
    """A gateway that would make up its own key would never match a youth without BSN with another node."""
    pki = tmp_path / "pki"
    r = subprocess.run([sys.executable, "-m", "vir", "pki", "maak", str(pki), "--oin", A], capture_output=True)
    assert r.returncode == 0
    env = {**os.environ, "VIR_DATA_DIR": str(tmp_path / "data"), "VIR_PROXY_ADRESSEN": "127.0.0.2",
           "VIR_TLS_CA": str(pki / "ca.pem"), "VIR_LOG_KEY": str(pki / "log-key.pem"),
           "VIR_LOG_CERT": str(pki / "log.pem")}  # fmt: skip
    env.pop("VIR_DATABASE_URL", None)
    r = subprocess.run([sys.executable, "-m", "vir", "serve", "--port", "0"], env=env, capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert r.returncode == 2 and "VIR_VSN_SLEUTEL is required outside development mode" in r.stderr, r.stderr
    assert not (tmp_path / "data" / "keys" / "vsn.sleutel").exists()
