"""A self-contained export of a log range, verifiable offline with nothing but this package:

manifest.json        format, range, tree size covered, issuer, certificate fingerprint
regels.jsonl         the entries of the range: every column, payload in base64 (null if redacted)
leaves.bin           the 32-byte leaf hashes of all entries 0 … grootte-1 (to rebuild the roots)
checkpoints/N.xml    the signed checkpoints up to grootte, exactly as signed
certificaat.pem      the certificate that signed them (check its fingerprint out of band)
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gateway.log.merkle import Frontier
from gateway.log.regel import METADATA_KOLOMMEN, leaf_of_row
from gateway.log.verify import Bevinding, Resultaat, controleer_checkpoints

FORMAAT = "vir-log-bundle-v1"
# What a bundle line holds besides digest, leaf and payload.
KOLOMMEN = (*(k for k in METADATA_KOLOMMEN if k != "payload_digest"), "payload_verwijderd")


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 fingerprint of the certificate, to compare with the operator's out of band."""
    return x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256()).hex(":").upper()


def regel_json(row: Any) -> str:
    d = {k: getattr(row, k) for k in KOLOMMEN}
    d["payload_digest"] = row.payload_digest.hex()
    d["leaf"] = row.leaf.hex()
    d["payload"] = base64.b64encode(row.payload).decode() if row.payload is not None else None
    return json.dumps(d, ensure_ascii=False)


def schrijf(
    pad: Path,
    *,
    van: int,
    tot: int,
    grootte: int,
    uitgever: str,
    regels: Iterator[Any],
    leaves: list[bytes],
    checkpoints: list[tuple[int, bytes]],
    cert_pem: bytes,
) -> None:
    with zipfile.ZipFile(pad, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "manifest.json",
            json.dumps(
                {
                    "formaat": FORMAAT,
                    "van": van,
                    "tot": tot,
                    "grootte": grootte,
                    "uitgever": uitgever,
                    "certificaatSha256": hashlib.sha256(cert_pem).hexdigest(),
                },
                indent=2,
            ),
        )
        z.writestr("regels.jsonl", "".join(regel_json(r) + "\n" for r in regels))
        z.writestr("leaves.bin", b"".join(leaves))
        for n, xml in checkpoints:
            z.writestr(f"checkpoints/{n}.xml", xml)
        z.writestr("certificaat.pem", cert_pem)


def _row(d: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(
        **{k: d[k] for k in KOLOMMEN},
        payload_digest=bytes.fromhex(d["payload_digest"]),
        leaf=bytes.fromhex(d["leaf"]),
        payload=base64.b64decode(d["payload"]) if d["payload"] is not None else None,
    )


def verifieer(pad: Path, cert_pem: bytes | None = None) -> tuple[Resultaat, dict[str, Any]]:
    """Verify a bundle offline. ``cert_pem``: a certificate obtained out of band (else the enclosed one)."""
    resultaat = Resultaat()
    bad = resultaat.bevindingen
    with zipfile.ZipFile(pad) as z:
        manifest = json.loads(z.read("manifest.json"))
        if manifest.get("formaat") != FORMAAT:
            bad.append(Bevinding("bundel", f"unknown format {manifest.get('formaat')!r}"))
            return resultaat, manifest
        cert = cert_pem or z.read("certificaat.pem")
        blob = z.read("leaves.bin")
        leaves = [blob[i : i + 32] for i in range(0, len(blob), 32)]
        grootte = int(manifest["grootte"])
        if len(leaves) != grootte:
            bad.append(Bevinding("bundel", f"{len(leaves)} leaf hashes for a tree of {grootte}"))
        xmls = [(int(Path(n).stem), z.read(n)) for n in z.namelist() if n.startswith("checkpoints/")]
        checkpoints = controleer_checkpoints(sorted(xmls), cert, resultaat)
        verwacht = int(manifest["van"])
        for line in z.read("regels.jsonl").decode().splitlines():
            row = _row(json.loads(line))
            if row.volgnummer != verwacht:
                bad.append(Bevinding(f"regel {verwacht}", f"missing: the next entry is {row.volgnummer}"))
                verwacht = row.volgnummer
            leaf = leaf_of_row(row)
            if leaf != row.leaf or row.volgnummer >= len(leaves) or leaves[row.volgnummer] != leaf:
                bad.append(Bevinding(f"regel {row.volgnummer}", "its metadata does not match its leaf hash"))
            if row.payload is not None and (hashlib.sha256(row.payload).digest() != row.payload_digest):
                bad.append(Bevinding(f"regel {row.volgnummer}", "its payload does not match its digest"))
            resultaat.regels += 1
            verwacht += 1
        if verwacht - 1 != int(manifest["tot"]):
            bad.append(Bevinding("bundel", f"range ends at {verwacht - 1}, manifest says {manifest['tot']}"))
        frontier = Frontier()
        for leaf in leaves:
            frontier.append(leaf)
            cp = checkpoints.get(frontier.size)
            if cp is not None and cp.wortel != frontier.root():
                bad.append(Bevinding(f"checkpoint {frontier.size}", "the signed root differs from the leaf hashes"))
        if grootte not in checkpoints:
            bad.append(Bevinding("bundel", f"no valid signed checkpoint of size {grootte}"))
    return resultaat, manifest
