"""One log entry and the exact bytes its leaf hash commits to.

    leaf data = "vir-log-v1\\n" + canonical JSON of the metadata (sorted keys, no spaces, UTF-8)
    metadata  = volgnummer, tijdstip, soort, operatie, actor, berichtId, kruisverwijzing, foutcode,
                correlatieId, payloadSha256 (hex), payloadLengte
    leaf hash = SHA-256(0x00 || leaf data)                                  (RFC 9162 leaf)

The position (volgnummer) is part of the leaf, so an entry moved, inserted or swapped no longer
matches its own hash and the verifier can name it. The payload is committed to by its digest only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.log.merkle import leaf_hash

# The C-accelerated string encoder behind json.dumps(ensure_ascii=False).
_encode_string = json.encoder.encode_basestring

# The stored columns the leaf hash commits to, in one place.
METADATA_KOLOMMEN = (
    "volgnummer",
    "tijdstip",
    "soort",
    "operatie",
    "actor",
    "bericht_id",
    "kruisverwijzing",
    "foutcode",
    "correlatie_id",
    "payload_digest",
    "payload_lengte",
)

SOORTEN = ("inkomend", "uitgaand", "fout", "beheer", "inzage")


def tijdstempel(dt: datetime) -> str:
    """RFC 3339 in UTC with microseconds: the form that is hashed and stored."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Logregel:
    """An entry before it has a place in the log."""

    tijdstip: str
    soort: str
    operatie: str
    actor: str
    payload: bytes
    bericht_id: str | None = None
    kruisverwijzing: str | None = None
    foutcode: str | None = None
    correlatie_id: str | None = None

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.payload).digest()


def _s(value: str | None) -> str:
    return "null" if value is None else _encode_string(value)


def leaf_data(
    volgnummer: int,
    *,
    tijdstip: str,
    soort: str,
    operatie: str,
    actor: str,
    bericht_id: str | None,
    kruisverwijzing: str | None,
    foutcode: str | None,
    correlatie_id: str | None,
    payload_digest: bytes,
    payload_lengte: int,
) -> bytes:
    """Exactly ``json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, written
    out by hand because verification computes it for every entry (a test holds the two equal)."""
    return (
        f'vir-log-v1\n{{"actor":{_s(actor)},"berichtId":{_s(bericht_id)},"correlatieId":{_s(correlatie_id)},'
        f'"foutcode":{_s(foutcode)},"kruisverwijzing":{_s(kruisverwijzing)},"operatie":{_s(operatie)},'
        f'"payloadLengte":{int(payload_lengte)},"payloadSha256":"{payload_digest.hex()}","soort":{_s(soort)},'
        f'"tijdstip":{_s(tijdstip)},"volgnummer":{int(volgnummer)}}}'
    ).encode()


def leaf_data_reference(volgnummer: int, **fields: Any) -> bytes:
    """The definition, for tests: canonical JSON of the metadata."""
    meta: dict[str, Any] = {
        "volgnummer": volgnummer,
        "tijdstip": fields["tijdstip"],
        "soort": fields["soort"],
        "operatie": fields["operatie"],
        "actor": fields["actor"],
        "berichtId": fields["bericht_id"],
        "kruisverwijzing": fields["kruisverwijzing"],
        "foutcode": fields["foutcode"],
        "correlatieId": fields["correlatie_id"],
        "payloadSha256": fields["payload_digest"].hex(),
        "payloadLengte": fields["payload_lengte"],
    }
    return b"vir-log-v1\n" + json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_of_row(row: Any) -> bytes:
    """The leaf hash recomputed from a stored row (a ``LogregelRij`` or anything with its columns)."""
    return leaf_hash(
        leaf_data(
            row.volgnummer,
            tijdstip=row.tijdstip,
            soort=row.soort,
            operatie=row.operatie,
            actor=row.actor,
            bericht_id=row.bericht_id,
            kruisverwijzing=row.kruisverwijzing,
            foutcode=row.foutcode,
            correlatie_id=row.correlatie_id,
            payload_digest=row.payload_digest,
            payload_lengte=row.payload_lengte,
        )
    )


def leaf_of(regel: Logregel, volgnummer: int) -> bytes:
    return leaf_hash(
        leaf_data(
            volgnummer,
            tijdstip=regel.tijdstip,
            soort=regel.soort,
            operatie=regel.operatie,
            actor=regel.actor,
            bericht_id=regel.bericht_id,
            kruisverwijzing=regel.kruisverwijzing,
            foutcode=regel.foutcode,
            correlatie_id=regel.correlatie_id,
            payload_digest=regel.digest,
            payload_lengte=len(regel.payload),
        )
    )
