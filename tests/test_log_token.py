"""The checkpoint key in a PKCS#11 token: SoftHSM2 (Debian ``softhsm2``) holds the key, a real gateway
and the CLI sign checkpoints with it, and ``xmlsec1`` verifies them with the certificate alone."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.support import start_server
from tests.test_log import traffic


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``vir-gateway log ARGS`` as its own process: a PKCS#11 library reads its configuration (the token
    directory) once per process, and a process stays logged in to a token, so each token and PIN needs a
    process of its own, as in a deployment."""
    return subprocess.run(
        [sys.executable, "-m", "vir", "log", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def _token(tmp: Path, kind: str, *, key_pem: bytes | None = None, cert_pem: bytes | None = None) -> dict[str, str]:
    """A fresh SoftHSM2 token with one imported key (a new one of ``kind``, or ``key_pem`` with its
    certificate ``cert_pem``); the PEM key file is gone afterwards."""
    softhsm = shutil.which("softhsm2-util")
    assert softhsm and Path(MODULE).exists(), "SoftHSM2 (Debian package softhsm2) is required"
    (tmp / "tokens").mkdir(parents=True)
    conf = tmp / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    run = {"env": env, "check": True, "capture_output": True}
    subprocess.run(
        [softhsm, "--init-token", "--free", "--label", "vir-log", "--pin", "1234", "--so-pin", "5678"], **run
    )
    if key_pem is not None and cert_pem is not None:
        (tmp / "key.pem").write_bytes(key_pem)
        return _import(tmp, softhsm, run, cert_pem, conf)
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else (ec.generate_private_key(ec.SECP256R1()))
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vir-gateway checkpoints (token)")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (tmp / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return _import(tmp, softhsm, run, cert.public_bytes(serialization.Encoding.PEM), conf)


def _import(tmp: Path, softhsm: str, run: dict[str, Any], cert_pem: bytes, conf: Path) -> dict[str, str]:
    key_file = tmp / "key.pem"
    subprocess.run(
        [
            softhsm,
            "--import",
            str(key_file),
            "--token",
            "vir-log",
            "--label",
            "checkpoint",
            "--id",
            "01",
            "--pin",
            "1234",
        ],
        **run,
    )
    key_file.unlink()
    (tmp / "cert.pem").write_bytes(cert_pem)
    (tmp / "pin").write_text("1234\n")
    return {
        "SOFTHSM2_CONF": str(conf),
        "VIR_LOG_KEY": f"pkcs11:token=vir-log;object=checkpoint?module-path={MODULE}&pin-source=file:{tmp / 'pin'}",
        "VIR_LOG_CERT": str(tmp / "cert.pem"),
    }


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_a_softhsm2_token_signs_checkpoints_that_xmlsec1_verifies(backend: str, tmp_path: Path, kind: str) -> None:
    from tests.conftest import create_pg_database, drop_pg_database

    xmlsec1 = shutil.which("xmlsec1")
    assert xmlsec1, "xmlsec1 (Debian package xmlsec1) is required"
    token_env = _token(tmp_path / "hsm", kind)
    pg = backend.startswith("postgresql")
    url = create_pg_database() if pg else f"sqlite:///{tmp_path / 'token.sqlite3'}"
    srv = start_server(tmp_path / "gw", url, extra_env={**token_env, "VIR_CHECKPOINT_REGELS": "4"})
    try:
        traffic(srv, 3)  # the gateway's workers sign checkpoints with the token as the log grows
        env = {**token_env, "VIR_DATABASE_URL": url, "VIR_DATA_DIR": str(tmp_path / "gw" / "data")}
        out = tmp_path / "checkpoint.xml"
        r = cli(env, "checkpoint", "--uit", str(out))
        assert r.returncode == 0, r.stdout + r.stderr
        sleutels = tmp_path / "gw" / "data" / "keys"
        assert not (sleutels / "log-signing-key.pem").exists(), "no development log key was made"
        ok = subprocess.run(
            [xmlsec1, "--verify", "--pubkey-cert-pem", token_env["VIR_LOG_CERT"], str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert ok.returncode == 0 and "OK" in ok.stderr, ok.stderr
        v = cli(env, "verify")
        assert v.returncode == 0, v.stdout + v.stderr
        assert int(v.stdout.split(" and ")[1].split()[0]) >= 2, v.stdout  # the gateway signed some too
        # A wrong PIN: one line and the documented exit code, no traceback.
        wrong = {**env, "VIR_LOG_KEY": env["VIR_LOG_KEY"].split("&pin-source")[0] + "&pin-value=0000"}
        srv.stop()  # so that nothing else signs the next entry
        assert cli(env, "list").returncode == 0  # a logged read: the log grew
        bad = cli(wrong, "checkpoint")
        assert bad.returncode == 3 and "Traceback" not in bad.stderr, bad.stderr
        assert "PKCS#11" in bad.stderr and "0000" not in bad.stderr
    finally:
        srv.stop()
        if pg:
            drop_pg_database(url)
