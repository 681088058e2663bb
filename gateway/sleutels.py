"""The secret keys a node shares with others (``gateway.domain.sleutelring``): the national key of the
verwijsindex-servicenummer (``VIR_VSN_SLEUTEL``) and the federation key of the youth pseudonyms
(``VIR_FEDERATIE_SLEUTEL``). Configured outside development mode, never in the repository; in development
mode a key is generated under ``data_dir/keys`` on first use (a federation of development nodes must be given
one shared file, as ``vir-gateway federatie demo`` does).
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from gateway.config import Settings
from gateway.domain.jongere import pseudoniem
from gateway.domain.sleutelring import Sleutelring, SleutelringFout
from gateway.errors import ServerError

SOORTEN = {"vsn": "VIR_VSN_SLEUTEL", "federatie": "VIR_FEDERATIE_SLEUTEL"}
_geladen: dict[Path, tuple[tuple[int, int], Sleutelring]] = {}


def maak_sleutelbestand(pad: Path, versie: int = 1) -> Path:
    """A new key file with one random 32-byte secret (mode 0600); an existing file is kept."""
    pad.parent.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pad.parent.mkdir(exist_ok=True, mode=0o700)
    with open(pad.parent / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several processes may start at once: one writes
        if not pad.exists():
            tijdelijk = pad.with_suffix(".nieuw")
            fd = os.open(tijdelijk, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"# vir-gateway key ring: <version> <secret in hex>\n{versie} {secrets.token_hex(32)}\n")
            os.replace(tijdelijk, pad)
    return pad


def sleutelpad(settings: Settings, soort: str) -> Path:
    """Where the key of ``soort`` (``vsn`` or ``federatie``) is: configured, or in development generated."""
    pad = settings.vsn_sleutel if soort == "vsn" else settings.federatie_sleutel
    if pad is not None:
        return pad
    if not settings.development:
        raise ServerError(f"{SOORTEN[soort]} is required outside development mode")
    return maak_sleutelbestand(settings.data_dir / "keys" / f"{soort}.sleutel")


def sleutelring(settings: Settings, soort: str) -> Sleutelring:
    """The key ring of ``soort``, read again when its file changed (a rotation needs no restart)."""
    pad = sleutelpad(settings, soort)
    try:
        stat = pad.stat()
        gewijzigd = (stat.st_mtime_ns, stat.st_size)
        bewaard = _geladen.get(pad)
        if bewaard is not None and bewaard[0] == gewijzigd:
            return bewaard[1]
        ring = Sleutelring.lees(pad.read_text())
    except (OSError, SleutelringFout) as exc:
        raise ServerError(f"{SOORTEN[soort]} ({pad}) is not a readable key ring: {exc}") from exc
    _geladen[pad] = (gewijzigd, ring)
    return ring


def ontbreekt(settings: Settings, federeert: bool) -> str | None:
    """Why this node cannot serve with its keys (None: it can): outside development mode the national key is
    required, and the federation key once peers are registered."""
    for soort in ("vsn", "federatie") if federeert else ("vsn",):
        try:
            sleutelring(settings, soort)
        except ServerError as exc:
            return exc.detail
    return None


def pseudoniemen(settings: Settings) -> Callable[[str], str]:
    """Youth key → federation pseudonym under the federation key in use (read when first needed)."""
    return lambda sleutel: pseudoniem(sleutel, sleutelring(settings, "federatie"))
