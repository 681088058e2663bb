"""A development PKI in PKIoverheid style: a CA, a server certificate, one client certificate per
instantie with its OIN in the subject serialNumber, a CRL, and a key pair for signing log checkpoints.

    vir-gateway pki maak DIR --oin OIN [--oin OIN …] [--server-naam localhost]
    vir-gateway pki intrekken DIR OIN        # add the instantie's certificate to DIR/crl.pem
    vir-gateway pki beheerder DIR BESTAND --naam NAAM   # an operator's certificate for the console

For tests and demos only: the keys are written unencrypted (mode 0600). Production uses certificates
from a PKIoverheid CSP (see docs/security.md); nothing here is needed then.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.sleutels import maak_sleutelbestand


@dataclass(frozen=True)
class Paar:
    cert: Path
    key: Path


def _sleutel() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _schrijf_sleutel(pad: Path, sleutel: rsa.RSAPrivateKey) -> None:
    pad.write_bytes(
        sleutel.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(pad, 0o600)


def _naam(cn: str, oin: str | None = None) -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vir-gateway ontwikkel-PKI"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if oin:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, oin))
    return x509.Name(attrs)


def _uitgeven(
    subject: x509.Name,
    sleutel: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate | None,
    ca_sleutel: rsa.RSAPrivateKey,
    *,
    ca: bool = False,
    server: str | None = None,
    nu: dt.datetime,
    geldig: dt.timedelta,
) -> x509.Certificate:
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject if ca_cert else subject)
        .public_key(sleutel.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(nu - dt.timedelta(minutes=5))
        .not_valid_after(nu + geldig)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        # Key identifiers: strict verifiers (Python 3.13's default context, RFC 5280) require them.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(sleutel.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_sleutel.public_key()), critical=False)
    )
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        namen: list[x509.GeneralName] = [x509.DNSName(server)]
        if server == "localhost":
            namen += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
        b = b.add_extension(x509.SubjectAlternativeName(namen), critical=False)
    return b.sign(ca_sleutel, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _laad_ca(map_: Path) -> tuple[x509.Certificate, Any]:
    cert = x509.load_pem_x509_certificate((map_ / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key((map_ / "ca-key.pem").read_bytes(), password=None)
    return cert, key


def maak(
    map_: Path,
    oins: list[str],
    *,
    server_naam: str = "localhost",
    nu: dt.datetime | None = None,
    geldig: dt.timedelta = dt.timedelta(days=365),
    ca_naam: str = "vir-gateway ontwikkel-CA",
) -> None:
    """A new CA with its server, client and log certificates under ``map_``. Two CAs that one gateway
    trusts (chain partners, operators) need different names: revocation lists are found by name."""
    nu = nu or dt.datetime.now(dt.UTC)
    map_.mkdir(parents=True, exist_ok=True)
    ca_key = _sleutel()
    ca = _uitgeven(_naam(ca_naam), ca_key, None, ca_key, ca=True, nu=nu, geldig=geldig * 2)
    (map_ / "ca.pem").write_bytes(_pem(ca))
    _schrijf_sleutel(map_ / "ca-key.pem", ca_key)
    srv_key = _sleutel()
    srv = _uitgeven(_naam(server_naam), srv_key, ca, ca_key, server=server_naam, nu=nu, geldig=geldig)
    (map_ / "server.pem").write_bytes(_pem(srv))
    _schrijf_sleutel(map_ / "server-key.pem", srv_key)
    for oin in oins:
        client(map_, oin, nu=nu, geldig=geldig)
    log_key = _sleutel()
    log = _uitgeven(_naam("vir-gateway logboek"), log_key, ca, ca_key, nu=nu, geldig=geldig)
    (map_ / "log.pem").write_bytes(_pem(log))
    _schrijf_sleutel(map_ / "log-key.pem", log_key)
    _schrijf_crl(map_, ca, ca_key, [], nu)
    # The secret keys every node of a federation shares (gateway/sleutels.py), for this development setup.
    maak_sleutelbestand(map_ / "vsn.sleutel")
    maak_sleutelbestand(map_ / "federatie.sleutel")


def client(
    map_: Path,
    oin: str,
    *,
    nu: dt.datetime | None = None,
    geldig: dt.timedelta = dt.timedelta(days=365),
    bestand: str | None = None,
    serienummer: str | None = None,
) -> Paar:
    """A client certificate for an instantie (subject serialNumber = its OIN, or ``serienummer`` to test
    other forms), signed by the CA in ``map_``, written to ``<bestand or OIN>.pem``. ``geldig`` may be
    negative, for an expired certificate."""
    nu = nu or dt.datetime.now(dt.UTC)
    ca, ca_key = _laad_ca(map_)
    key = _sleutel()
    # An expired certificate (negative ``geldig``) was valid from nu - 2|geldig| until nu - |geldig|.
    start, duur = (nu, geldig) if geldig > dt.timedelta(0) else (nu + 2 * geldig, -geldig)
    subject = _naam(f"instantie {oin}", serienummer if serienummer is not None else oin)
    cert = _uitgeven(subject, key, ca, ca_key, nu=start, geldig=duur)
    naam = bestand or oin
    paar = Paar(map_ / f"{naam}.pem", map_ / f"{naam}-key.pem")
    paar.cert.write_bytes(_pem(cert))
    _schrijf_sleutel(paar.key, key)
    return paar


def beheerder(map_: Path, naam: str, bestand: str, *, nu: dt.datetime | None = None) -> Paar:
    """A client certificate for a console operator (the person's name as CN, no OIN), signed by the CA in
    ``map_`` (use a CA of its own for operators: ``VIR_BEHEER_CA``), written to ``<bestand>.pem``."""
    nu = nu or dt.datetime.now(dt.UTC)
    ca, ca_key = _laad_ca(map_)
    key = _sleutel()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vir-gateway beheer"),
            x509.NameAttribute(NameOID.COMMON_NAME, naam),
        ]
    )
    cert = _uitgeven(subject, key, ca, ca_key, nu=nu, geldig=dt.timedelta(days=365))
    paar = Paar(map_ / f"{bestand}.pem", map_ / f"{bestand}-key.pem")
    paar.cert.write_bytes(_pem(cert))
    _schrijf_sleutel(paar.key, key)
    return paar


def _crl(
    ca: x509.Certificate,
    ca_key: Any,
    ingetrokken: list[x509.RevokedCertificate],
    nu: dt.datetime,
    geldig: dt.timedelta = dt.timedelta(days=30),
) -> bytes:
    b = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(min(nu, nu + geldig) - dt.timedelta(minutes=5))
        .next_update(nu + geldig)
    )
    for r in ingetrokken:
        b = b.add_revoked_certificate(r)
    return b.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _schrijf_crl(
    map_: Path, ca: x509.Certificate, ca_key: Any, ingetrokken: list[x509.RevokedCertificate], nu: dt.datetime
) -> None:
    (map_ / "crl.pem").write_bytes(_crl(ca, ca_key, ingetrokken, nu))


def crl(
    map_: Path, namen: list[str], *, nu: dt.datetime | None = None, geldig: dt.timedelta = dt.timedelta(days=30)
) -> bytes:
    """A CRL (PEM) of the CA in ``map_`` revoking the certificates ``<naam>.pem``, with its nextUpdate
    ``geldig`` from now (negative: expired). For tests that put several CRLs in one file."""
    nu = nu or dt.datetime.now(dt.UTC)
    ca, ca_key = _laad_ca(map_)
    ingetrokken = [
        x509.RevokedCertificateBuilder()
        .serial_number(x509.load_pem_x509_certificate((map_ / f"{naam}.pem").read_bytes()).serial_number)
        .revocation_date(nu - dt.timedelta(minutes=1))
        .build()
        for naam in namen
    ]
    return _crl(ca, ca_key, ingetrokken, nu, geldig)


def intrekken(map_: Path, oin: str, nu: dt.datetime | None = None) -> None:
    nu = nu or dt.datetime.now(dt.UTC)
    ca, ca_key = _laad_ca(map_)
    cert = x509.load_pem_x509_certificate((map_ / f"{oin}.pem").read_bytes())
    oud = x509.load_pem_x509_crl((map_ / "crl.pem").read_bytes())
    ingetrokken = list(oud)
    ingetrokken.append(x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(nu).build())
    _schrijf_crl(map_, ca, ca_key, ingetrokken, nu)


def cmd_maak(args: argparse.Namespace) -> int:
    maak(Path(args.map), args.oin or [], server_naam=args.server_naam, ca_naam=args.ca_naam)
    d = Path(args.map)
    print(
        f"development PKI in {d}: ca.pem, server.pem, crl.pem, log.pem, vsn.sleutel, federatie.sleutel and per "
        "instantie <OIN>.pem"
    )
    print(
        f"serve with: VIR_TLS_CERT={d}/server.pem VIR_TLS_KEY={d}/server-key.pem VIR_TLS_CA={d}/ca.pem "
        f"VIR_TLS_CRL={d}/crl.pem VIR_LOG_KEY={d}/log-key.pem VIR_LOG_CERT={d}/log.pem "
        f"VIR_VSN_SLEUTEL={d}/vsn.sleutel VIR_FEDERATIE_SLEUTEL={d}/federatie.sleutel vir-gateway serve"
    )
    return 0


def cmd_intrekken(args: argparse.Namespace) -> int:
    try:
        intrekken(Path(args.map), args.oin)
    except FileNotFoundError as exc:
        print(f"not found: {exc.filename}", file=sys.stderr)
        return 1
    print(f"revoked the certificate of {args.oin}; {args.map}/crl.pem updated (read again by the gateway at once)")
    return 0


def cmd_beheerder(args: argparse.Namespace) -> int:
    paar = beheerder(Path(args.map), args.naam, args.bestand)
    print(f"operator certificate {paar.cert} (key {paar.key}); register it with 'vir-gateway beheerder add'")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("pki", help="a development PKI (CA, server, instantie certificates, CRL)")
    ps = p.add_subparsers(dest="pcmd", required=True)
    m = ps.add_parser("maak", help="create a CA and certificates")
    m.add_argument("map")
    m.add_argument("--oin", action="append", help="an instantie's OIN (repeat)")
    m.add_argument("--server-naam", default="localhost")
    m.add_argument("--ca-naam", default="vir-gateway ontwikkel-CA", help="e.g. a distinct name for the operator CA")
    m.set_defaults(fn=cmd_maak)
    i = ps.add_parser("intrekken", help="revoke an instantie's certificate")
    i.add_argument("map")
    i.add_argument("oin")
    i.set_defaults(fn=cmd_intrekken)
    b = ps.add_parser("beheerder", help="an operator's client certificate for the console")
    b.add_argument("map")
    b.add_argument("bestand", help="file name without .pem")
    b.add_argument("--naam", required=True, help="the person's name (certificate CN)")
    b.set_defaults(fn=cmd_beheerder)
