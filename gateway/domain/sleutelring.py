"""A versioned secret key, as the federation key and the national key of the verwijsindex-servicenummer are
kept: a text file of lines ``<version> <secret in hex>`` (at least 32 bytes each; ``#`` starts a comment).
The highest version is the one in use; lower ones are kept while keys made with them are migrated
(docs/federation.md). Plain Python: reading the file is ``gateway.sleutels``'s work.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

MIN_LENGTE = 32


class SleutelringFout(ValueError):
    """The key file is not a key ring; ``str`` says where, never what the secret is."""


@dataclass(frozen=True)
class Sleutelring:
    versies: dict[int, bytes]

    def __post_init__(self) -> None:
        if not self.versies:
            raise SleutelringFout("no key")
        for versie, geheim in self.versies.items():
            if versie < 1 or len(geheim) < MIN_LENGTE:
                raise SleutelringFout(f"version {versie}: a version is 1 or higher, a secret {MIN_LENGTE}+ bytes")

    @classmethod
    def lees(cls, tekst: str) -> Sleutelring:
        versies: dict[int, bytes] = {}
        for nummer, regel in enumerate(tekst.splitlines(), start=1):
            regel = regel.split("#", 1)[0].strip()
            if not regel:
                continue
            delen = regel.split()
            try:
                if len(delen) != 2:
                    raise ValueError
                versie, geheim = int(delen[0]), bytes.fromhex(delen[1])
            except ValueError as exc:
                raise SleutelringFout(f"line {nummer}: expected '<version> <secret in hex>'") from exc
            if versie in versies:
                raise SleutelringFout(f"line {nummer}: version {versie} twice")
            versies[versie] = geheim
        return cls(versies)

    @property
    def huidig(self) -> int:
        """The version in use."""
        return max(self.versies)

    def mac(self, doel: str, tekst: str, versie: int | None = None) -> bytes:
        """HMAC-SHA256 of ``tekst`` under the key of ``versie`` (default: the one in use), separated by ``doel``
        so that one key never gives the same value for two purposes."""
        sleutel = self.versies[self.huidig if versie is None else versie]
        return hmac.new(sleutel, f"{doel}\0{tekst}".encode(), hashlib.sha256).digest()
