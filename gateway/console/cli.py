"""``vir-gateway beheerder``: the people who may use the console.

    vir-gateway beheerder add --naam NAAM --rol beheerder|auditor|privacyfunctionaris --certificaat PEM
    vir-gateway beheerder list
    vir-gateway beheerder intrekken NAAM

The certificate must be issued by the operator CA (``VIR_BEHEER_CA``, when set); the person is known by
its SHA-256 fingerprint. Each change is a ``beheer`` entry in the signed log, in the same transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from gateway import config
from gateway.console.toegang import Rol, vingerafdruk
from gateway.log.logboek import Logboek
from gateway.log.regel import Logregel
from store import console as opslag
from store.db import Database
from store.migrate import upgrade
from store.models import Beheerder


def _open() -> tuple[config.Settings, Database, Logboek]:
    settings = config.from_env()
    db = Database(settings.url)
    upgrade(db)
    return settings, db, Logboek(settings, db)


def _wie() -> str:
    import getpass

    return os.environ.get("VIR_OPERATOR") or getpass.getuser()


def _van_ca(cert: x509.Certificate, ca_pad: Path) -> bool:
    for ca in x509.load_pem_x509_certificates(ca_pad.read_bytes()):
        try:
            cert.verify_directly_issued_by(ca)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


def cmd_add(args: argparse.Namespace) -> int:
    settings, db, logboek = _open()
    try:
        return _add(args, settings, db, logboek)
    finally:
        db.dispose()


def _add(args: argparse.Namespace, settings: config.Settings, db: Database, logboek: Logboek) -> int:
    try:
        cert = x509.load_pem_x509_certificate(Path(args.certificaat).read_bytes())
    except (OSError, ValueError) as exc:
        print(f"refused: cannot read a PEM certificate ({type(exc).__name__})", file=sys.stderr)
        return 2
    if settings.beheer_ca is not None and not _van_ca(cert, settings.beheer_ca):
        print("refused: the certificate is not issued by the operator CA (VIR_BEHEER_CA)", file=sys.stderr)
        return 2
    afdruk = vingerafdruk(cert)
    with db.transaction() as s:
        if opslag.beheerder(s, args.naam) is not None or opslag.beheerder_met_afdruk(s, afdruk) is not None:
            print("refused: this name or certificate is already registered", file=sys.stderr)
            return 1
        s.add(
            Beheerder(
                naam=args.naam,
                rol=args.rol,
                vingerafdruk=afdruk,
                onderwerp=cert.subject.rfc4514_string()[:400],
                actief=True,
                aangemaakt=datetime.now(UTC),
            )
        )
        wat = {"naam": args.naam, "rol": args.rol, "vingerafdruk": afdruk}
        logboek.schrijf(s, [Logregel(logboek.nu(), "beheer", "beheerder add", _wie(), json.dumps(wat).encode())])
    print(f"registered operator with role {args.rol}, certificate SHA-256 {afdruk}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    _, db, _ = _open()
    with db.transaction(write=False) as s:
        print(f"{'rol':<20}  {'status':<11}  {'certificaat SHA-256':<64}  naam")
        for b in opslag.beheerders(s):
            print(f"{b.rol:<20}  {'actief' if b.actief else 'ingetrokken':<11}  {b.vingerafdruk}  {b.naam}")
    db.dispose()
    return 0


def cmd_intrekken(args: argparse.Namespace) -> int:
    _, db, logboek = _open()
    try:
        with db.transaction() as s:
            b = opslag.beheerder(s, args.naam)
            if b is None:
                print("no such operator", file=sys.stderr)
                return 1
            b.actief, b.ingetrokken = False, datetime.now(UTC)
            wat = {"naam": b.naam, "vingerafdruk": b.vingerafdruk}
            regel = Logregel(logboek.nu(), "beheer", "beheerder intrekken", _wie(), json.dumps(wat).encode())
            logboek.schrijf(s, [regel])
    finally:
        db.dispose()
    print("operator access withdrawn")
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("beheerder", help="operators of the console (/beheer/)")
    ps = p.add_subparsers(dest="bcmd", required=True)
    a = ps.add_parser("add", help="register a person with a role and their certificate")
    a.add_argument("--naam", required=True, help="the person's name, as the log records it")
    a.add_argument("--rol", required=True, choices=[r.value for r in Rol])
    a.add_argument("--certificaat", required=True, help="PEM client certificate from the operator CA")
    a.set_defaults(fn=cmd_add)
    ps.add_parser("list", help="registered operators").set_defaults(fn=cmd_list)
    i = ps.add_parser("intrekken", help="withdraw a person's access")
    i.add_argument("naam")
    i.set_defaults(fn=cmd_intrekken)
