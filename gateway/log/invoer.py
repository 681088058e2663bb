"""Files an operator hands to ``vir-gateway log``: certificates, checkpoints kept elsewhere, bundles.

Each is read and checked here, so that a wrong file is one ``InvoerFout`` with a sentence naming the
file and what is wrong with it (exit 4), never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from gateway.log.checkpoint import CheckpointData, CheckpointError
from gateway.log.checkpoint import verify as verify_checkpoint
from gateway.log.verify import Buiten


class InvoerFout(Exception):
    """A file given on the command line cannot be used; ``str`` names the file and why."""


def lees(pad: str | Path) -> bytes:
    try:
        return Path(pad).read_bytes()
    except OSError as exc:
        raise InvoerFout(f"{pad}: cannot be read ({exc.strerror or type(exc).__name__})") from exc


def certificaat(pad: str | Path) -> bytes:
    """A PEM certificate file, checked to be one."""
    pem = lees(pad)
    try:
        x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise InvoerFout(f"{pad}: not a PEM certificate") from exc
    return pem


def buiten_checkpoint(pad: str | Path, cert_pem: bytes) -> tuple[Buiten | None, str | None]:
    """A checkpoint of ours kept elsewhere: (it, None) when its signature verifies with our
    certificate, else (None, why). A file that is not XML at all is an ``InvoerFout``."""
    xml = lees(pad)
    if not xml.lstrip().startswith(b"<"):
        raise InvoerFout(f"{pad}: not an XML checkpoint")
    try:
        data: CheckpointData = verify_checkpoint(xml, cert_pem)
    except CheckpointError as exc:
        return None, f"{exc} with this log's certificate: not a checkpoint of this log, or altered"
    return Buiten(Path(pad).name, data), None
