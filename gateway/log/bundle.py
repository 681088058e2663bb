"""A self-contained export of a log range, verifiable offline with nothing but this package:

manifest.json        format, range, tree size covered, issuer, certificate fingerprint
regels.jsonl         the entries of the range: every column, payload in base64 (null if redacted)
redacties.jsonl      every redaction entry of the tree (also outside the range): a missing payload
                     is accepted only where one of them, logged after it, covers it
leaves.bin           the 32-byte leaf hashes of all entries 0 … grootte-1 (to rebuild the roots)
checkpoints/N.xml    the signed checkpoints up to grootte, exactly as signed
certificaat.pem      the certificate that signed them (check its fingerprint out of band)

A bundle that is not a zip, lacks its manifest or has a broken line is an ``InvoerFout`` or a named
finding, never a traceback; folder entries a re-zip added are ignored.
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

from gateway.log import redactie
from gateway.log.invoer import InvoerFout
from gateway.log.merkle import Frontier
from gateway.log.regel import METADATA_KOLOMMEN, leaf_of_row
from gateway.log.verify import Bevinding, Resultaat, controleer_checkpoints, controleer_redacties

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
    redacties: Iterator[Any],
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
        z.writestr("redacties.jsonl", "".join(regel_json(r) + "\n" for r in redacties))
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


def _rows(z: zipfile.ZipFile, naam: str, bad: list[Bevinding]) -> Iterator[SimpleNamespace]:
    try:
        text = z.read(naam).decode()
    except KeyError:
        return
    except UnicodeDecodeError:
        bad.append(Bevinding("bundel", f"{naam} is not UTF-8 text"))
        return
    for i, line in enumerate(text.splitlines(), 1):
        try:
            yield _row(json.loads(line))
        except (ValueError, KeyError, TypeError, AttributeError):
            bad.append(Bevinding("bundel", f"{naam} line {i} is not an entry"))


def _leaf_past(row: Any, leaves: list[bytes]) -> bool:
    try:
        leaf = leaf_of_row(row)
    except (TypeError, ValueError, AttributeError):
        return False
    return (
        leaf == row.leaf
        and isinstance(row.volgnummer, int)
        and 0 <= row.volgnummer < len(leaves)
        and (leaves[row.volgnummer] == leaf)
    )


def _digest_past(row: Any) -> bool:
    return row.payload is not None and hashlib.sha256(row.payload).digest() == row.payload_digest


def _open(pad: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(pad)
    except OSError as exc:
        raise InvoerFout(f"{pad}: cannot be read ({exc.strerror or type(exc).__name__})") from exc
    except zipfile.BadZipFile as exc:
        raise InvoerFout(f"{pad}: not a bundle (not a zip file)") from exc


def certificaat_in(pad: Path) -> bytes:
    """The certificate enclosed in a bundle."""
    with _open(pad) as z:
        try:
            return z.read("certificaat.pem")
        except KeyError as exc:
            raise InvoerFout(f"{pad}: the bundle holds no certificaat.pem") from exc


def verifieer(pad: Path, cert_pem: bytes | None = None) -> tuple[Resultaat, dict[str, Any]]:
    """Verify a bundle offline. ``cert_pem``: a certificate obtained out of band (else the enclosed one)."""
    resultaat = Resultaat()
    bad = resultaat.bevindingen
    with _open(pad) as z:
        try:
            manifest = json.loads(z.read("manifest.json"))
            grootte, van, tot = int(manifest["grootte"]), int(manifest["van"]), int(manifest["tot"])
        except KeyError as exc:
            raise InvoerFout(f"{pad}: not a bundle (no manifest.json, or it lacks {exc})") from exc
        except (ValueError, TypeError) as exc:
            raise InvoerFout(f"{pad}: its manifest.json is not readable") from exc
        if manifest.get("formaat") != FORMAAT:
            bad.append(Bevinding("bundel", f"unknown format {manifest.get('formaat')!r}"))
            return resultaat, manifest
        cert = cert_pem or certificaat_in(pad)
        try:
            blob = z.read("leaves.bin")
        except KeyError:
            blob = b""
            bad.append(Bevinding("bundel", "it holds no leaves.bin"))
        leaves = [blob[i : i + 32] for i in range(0, len(blob), 32)]
        if len(leaves) != grootte:
            bad.append(Bevinding("bundel", f"{len(leaves)} leaf hashes for a tree of {grootte}"))
        xmls: list[tuple[int, bytes]] = []
        for info in z.infolist():
            if not info.filename.startswith("checkpoints/") or info.is_dir():
                continue  # a re-zip may add folder entries
            try:
                xmls.append((int(Path(info.filename).stem), z.read(info)))
            except ValueError:
                bad.append(Bevinding("bundel", f"{info.filename} is not named after a tree size"))
        checkpoints = controleer_checkpoints(sorted(xmls), cert, resultaat)
        dekking: list[tuple[int, int, int]] = []
        for row in _rows(z, "redacties.jsonl", bad):
            echt = _leaf_past(row, leaves) and _digest_past(row)
            if not echt or not redactie.is_redactie(row.soort, row.operatie):
                bad.append(Bevinding(f"regel {row.volgnummer}", "a redaction entry in the bundle does not verify"))
                continue
            dekking.extend((a, b, row.volgnummer) for a, b in redactie.gedekt(row.payload, row.volgnummer))
        weg: list[tuple[int, int]] = []
        verwacht = van
        for row in _rows(z, "regels.jsonl", bad):
            if row.volgnummer != verwacht:
                bad.append(Bevinding(f"regel {verwacht}", f"missing: the next entry is {row.volgnummer}"))
                verwacht = row.volgnummer
            if not _leaf_past(row, leaves):
                bad.append(Bevinding(f"regel {row.volgnummer}", "its metadata does not match its leaf hash"))
            if row.payload is None:
                weg.append((row.volgnummer, row.volgnummer))
            elif not _digest_past(row):
                bad.append(Bevinding(f"regel {row.volgnummer}", "its payload does not match its digest"))
            elif redactie.is_redactie(row.soort, row.operatie) and _leaf_past(row, leaves):
                dekking.extend((a, b, row.volgnummer) for a, b in redactie.gedekt(row.payload, row.volgnummer))
            resultaat.regels += 1
            verwacht += 1
        if verwacht - 1 != tot:
            bad.append(Bevinding("bundel", f"range ends at {verwacht - 1}, manifest says {tot}"))
        controleer_redacties(weg, dekking, resultaat, grootte if grootte in checkpoints else 0)
        frontier = Frontier()
        for leaf in leaves:
            frontier.append(leaf)
            cp = checkpoints.get(frontier.size)
            if cp is not None and cp.wortel != frontier.root():
                bad.append(Bevinding(f"checkpoint {frontier.size}", "the signed root differs from the leaf hashes"))
        if grootte not in checkpoints:
            bad.append(Bevinding("bundel", f"no valid signed checkpoint of size {grootte}"))
    return resultaat, manifest
