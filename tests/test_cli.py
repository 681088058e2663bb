"""The operators' commands, run as a real process (elsewhere the tests call them in process, and keep one
real run of each command: onderhoud, brp, rapport and worker in test_verwijsindex, rapport jaar in
test_jaarrapport, pki in test_tls, log in test_log, federatie in test_federation)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIR_DATA_DIR": str(tmp_path / "data")}
    env.pop("VIR_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "vir", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_instantie_add_and_list(tmp_path: Path) -> None:
    r = _run(
        tmp_path,
        "instantie",
        "add",
        "--oin",
        "00000001444444444000",
        "--naam",
        "Veilig Thuis Drenthe",
        "--vestiging",
        "Emmen",
    )
    assert r.returncode == 0, r.stderr
    again = _run(tmp_path, "instantie", "add", "--oin", "00000001444444444000", "--naam", "Dubbel")
    assert again.returncode == 1 and "already registered" in again.stderr
    bad = _run(tmp_path, "instantie", "add", "--oin", "123", "--naam", "Kort")
    assert bad.returncode == 2
    listing = _run(tmp_path, "instantie", "list")
    assert listing.returncode == 0
    assert "00000001444444444000" in listing.stdout and "Veilig Thuis Drenthe" in listing.stdout
    assert "Dubbel" not in listing.stdout


def test_development_mode_refuses_a_public_address(tmp_path: Path) -> None:
    r = _run(tmp_path, "serve", "--host", "0.0.0.0", "--port", "0")
    assert r.returncode == 2
    assert "loopback" in r.stderr


def test_db_upgrade(tmp_path: Path) -> None:
    r = _run(tmp_path, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("database at newest schema: sqlite:///")
    assert (tmp_path / "data" / "vir-gateway.sqlite3").is_file()


def test_instantie_bevoegde(tmp_path: Path) -> None:
    """Designating, listing and revoking professionals, as an operator runs them (each logged with the
    operator: tests/test_profielen.py)."""
    oin = "00000001444444444000"
    assert _run(tmp_path, "instantie", "add", "--oin", oin, "--naam", "Veilig Thuis Drenthe").returncode == 0
    r = _run(tmp_path, "instantie", "bevoegde", "add", oin, "--id", "mw-7", "--naam", "Mila Wessels", "--functie=arts")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"oin": oin, "id": "mw-7", "naam": "Mila Wessels", "functie": "arts", "actief": True}
    r = _run(tmp_path, "instantie", "bevoegde", "list", oin)
    assert r.returncode == 0 and [b["id"] for b in json.loads(r.stdout)] == ["mw-7"]
    r = _run(tmp_path, "instantie", "bevoegde", "intrekken", oin, "mw-7")
    assert r.returncode == 0 and json.loads(r.stdout)["meldingen"] == []
    again = _run(tmp_path, "instantie", "bevoegde", "intrekken", oin, "mw-7")
    assert again.returncode != 0 and "not a designated professional" in again.stderr
