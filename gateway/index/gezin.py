"""Family matches (gezinsmatch): active meldingen on youths the population register relates.

A youth's family match lists the active meldingen on related youths (a shared home address that is not an
institution, or a shared parent, in the population register). Each party with an active melding on the
youth sees those of *other* instanties: nieuweMatch when its view becomes non-empty, gewijzigdeMatch when
it changes, beeindigdeMatch when it empties.

Across systems (docs/federation.md): the node that holds the register (the hub, nationally) relates the youths
other systems name by pseudonym only, through the pseudonyms its register carries, and sends each other
system's melding in a family match its view, contact cards only (``GezinsmatchDoorgeven``). The receiving
node keeps those cards with its youth's family match (``leden["extern"]``, per melding, with the hub's time)
and shows them beside what it relates itself.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gateway.domain.model import Contactkaart, MatchBeeld
from gateway.domain.soorten import MatchSoort, MatchStatus, MeldingStatus, SignaalSoort
from gateway.domain.tijd import in_utc
from gateway.index.kern import compact, kaart
from gateway.index.uitwisseling import Uitwisseling
from store import models as m
from store.register import Profiel


class Gezin(Uitwisseling):
    # The youth and its family match as ``_gezin_na_wijziging`` read it and left it unchanged: a filing's
    # answer shows that match without reading it again. Any recomputation forgets it.
    _gezinsmatch: tuple[int, m.Match | None] | None = None

    def _gezinsbeelden(self, melding: m.Melding) -> tuple[MatchBeeld, ...]:
        """The family match of the melding's youth as its party sees it, when it sees anyone (a filing's
        answer shows it next to the client match: cards only, flagged by its kind)."""
        gelezen, self._gezinsmatch = self._gezinsmatch, None
        if gelezen is not None and gelezen[0] == melding.jongere_id:
            match = gelezen[1]
        else:
            match = self.repo.actieve_match(melding.jongere_id, MatchSoort.GEZINSMATCH)
        if match is None or melding.id not in json.loads(match.leden or "{}").get("kijkers", []):
            return ()
        beeld = self._gezinsbeeld(match, melding, None)
        return (beeld,) if beeld.partijen else ()

    def _bsn_van(self, sleutel: str) -> str | None:
        """The register's person for a youth key: its BSN, or (a hub) the person its pseudonym is of."""
        if sleutel.startswith("bsn:"):
            return sleutel[4:]
        if sleutel.startswith("psn:") and self.outbox is not None and self.outbox.hub:
            return self.repo.federatie().bsn_van_pseudoniem(sleutel)
        return None

    def _jongeren_van(self, bsns: set[str]) -> list[int]:
        if self.outbox is not None and self.outbox.hub:
            return self.repo.federatie().jongere_ids_van_bsns(bsns)
        return self.repo.jongere_ids(f"bsn:{bsn}" for bsn in bsns)

    def _gezin_na_wijziging(self, jongere_id: int, sleutel: str, *, zonder_gezinsmatch: bool = False) -> None:
        """The youth's meldingen changed: recompute its family match and those of its related youths."""
        match = None if zonder_gezinsmatch else self.repo.actieve_match(jongere_id, MatchSoort.GEZINSMATCH)
        if match is not None and '"extern"' in (match.leden or ""):
            self.herbereken_gezin(jongere_id)  # what the hub sent about a melding that ended goes with it
        if not self._brp_gevuld() or (bsn := self._bsn_van(sleutel)) is None:
            if match is None or '"extern"' not in (match.leden or ""):
                self._gezinsmatch = (jongere_id, match)
            return  # only the population register relates youths, and it knows them by BSN
        verwanten = self.repo.verwanten(bsn)
        if not verwanten and (
            zonder_gezinsmatch or self.repo.actieve_match(jongere_id, MatchSoort.GEZINSMATCH) is None
        ):
            return
        ids = {jongere_id, *self._jongeren_van(verwanten)}
        for verwant_id in sorted(ids):
            self.herbereken_gezin(verwant_id)

    def herbereken_gezin(self, jongere_id: int) -> None:
        """Bring one youth's family match up to date and notify each of our parties whose view changed (another
        system's party, on a hub: its system)."""
        self._gezinsmatch = None
        jongere = self.repo.jongere(jongere_id)
        assert jongere is not None
        bsn = self._bsn_van(jongere.sleutel)
        verwanten = self.repo.verwanten(bsn) if bsn is not None and self._brp_gevuld() else set()
        leden = [a for verwant_id in self._jongeren_van(verwanten) for a in self.repo.actieve_meldingen(verwant_id)]
        kijkers = list(self.repo.actieve_meldingen(jongere_id))
        match = self.repo.actieve_match(jongere_id, MatchSoort.GEZINSMATCH)
        oud: dict[str, Any] = json.loads(match.leden) if match is not None and match.leden else {}
        nieuw: dict[str, Any] = {"leden": sorted(a.id for a in leden), "kijkers": sorted(k.id for k in kijkers)}
        extern = {i: v for i, v in oud.get("extern", {}).items() if i in {k.melding_id for k in kijkers}}
        if extern:
            nieuw["extern"] = extern  # what the hub sent about our meldingen stays
        if oud == nieuw:
            return
        meldingen = {a.id: a for a in [*leden, *kijkers]}
        vroeger = {*oud.get("leden", []), *oud.get("kijkers", [])} - meldingen.keys()
        meldingen.update((a.id, a) for a in self._meldingen(sorted(vroeger)))
        instanties = self.repo.instanties_by_id(a.instantie_id for a in meldingen.values())

        def zicht(stand: dict[str, Any], kijker: int) -> list[m.Melding]:
            if kijker not in stand.get("kijkers", []):
                return []
            eigen = meldingen[kijker].instantie_id
            return [
                meldingen[i] for i in stand.get("leden", []) if i in meldingen and meldingen[i].instantie_id != eigen
            ]

        wijzigingen = []
        for kijker in sorted({*oud.get("kijkers", []), *nieuw["kijkers"]}):
            if kijker not in meldingen:
                continue
            voor, na = zicht(oud, kijker), zicht(nieuw, kijker)
            if {a.id for a in voor} != {a.id for a in na}:
                wijzigingen.append((meldingen[kijker], voor, na))
        actief = any(zicht(nieuw, k) for k in nieuw["kijkers"]) or any(v["kaarten"] for v in extern.values())
        if match is None:
            if not actief:
                return
            match = self._nieuwe_gezinsmatch(jongere_id)
        match.leden = compact(nieuw)
        if not actief:
            match.status, match.beeindigd = MatchStatus.BEEINDIGD, self.nu
        self.repo.flush()
        for wie, voor, na in sorted(wijzigingen, key=lambda w: w[0].instantie_id):
            if instanties[wie.instantie_id].systeem is not None:
                # Another system's party: its own system notifies it; the hub tells that system what it found.
                self._gezin_doorgeven(wie, [self._federatie_kaart(a, instanties[a.instantie_id]) for a in na])
                continue
            extra = self._externe_kaarten(match, wie)
            self._gezin_signaal(match, wie, [kaart(a, instanties[a.instantie_id]) for a in voor] + extra,
                                [kaart(a, instanties[a.instantie_id]) for a in na] + extra)  # fmt: skip

    def _nieuwe_gezinsmatch(self, jongere_id: int) -> m.Match:
        match = m.Match(
            match_id=str(uuid.uuid4()),
            jongere_id=jongere_id,
            soort=MatchSoort.GEZINSMATCH,
            status=MatchStatus.ACTIEF,
            ontstaan=self.nu,
        )
        self.repo.add(match)
        self._afstemming[match.id] = None  # arose in this transaction: no recorded contact yet
        return match

    def _gezin_signaal(self, match: m.Match, wie: m.Melding, voor: list[Contactkaart], na: list[Contactkaart]) -> None:
        """Our party of melding ``wie`` sees the family match go from ``voor`` to ``na``."""
        if not voor:
            soort = SignaalSoort.NIEUWE_MATCH
        elif not na:
            soort = SignaalSoort.BEEINDIGDE_MATCH
        else:
            soort = SignaalSoort.GEWIJZIGDE_MATCH
        status = MatchStatus.BEEINDIGD if not na else MatchStatus.ACTIEF
        partijen = tuple(na or voor)
        beeld = MatchBeeld(match.match_id, wie.melding_id, MatchSoort.GEZINSMATCH, status, match.ontstaan, partijen)
        if soort == SignaalSoort.NIEUWE_MATCH:
            self._tel(wie.instantie_id, "gezinsmatches", jongere_id=wie.jongere_id)
        self._signaal(wie.instantie_id, soort, wie.melding_id, self._met_regie(beeld, match).to_json())

    # --- across systems ------------------------------------------------------------------------------

    def _federatie_kaart(self, melding: m.Melding, instantie: Profiel | m.Instantie) -> Contactkaart:
        """A card as another system's party sees it: the source system in front of ``bronsysteem``."""
        vorm = kaart(melding, instantie)
        if melding.bron_systeem is None and self.outbox is not None:
            vorm = replace(vorm, bronsysteem=f"{self.outbox.systeem}/{vorm.bronsysteem}"[:80])
        return vorm

    def _externe_kaarten(self, match: m.Match, wie: m.Melding) -> list[Contactkaart]:
        extern = json.loads(match.leden or "{}").get("extern", {}).get(wie.melding_id, {})
        return [Contactkaart.uit_json(k) for k in extern.get("kaarten", [])]

    def _gezin_doorgeven(self, wie: m.Melding, kaarten: list[Contactkaart]) -> None:
        """(A hub) the family match of another system's melding ``wie``, as contact cards only, to that system."""
        if self.outbox is None or not self.outbox.hub or wie.bron_systeem is None:
            return
        inhoud = {
            "meldingId": wie.bron_melding_id,
            "tijdstip": datetime.now(UTC).isoformat(),  # the real clock: later messages about it are later
            "kaarten": [k.naar_json() for k in kaarten],
        }
        self.outbox.gezin(self._bron_van(wie), inhoud, [wie.bron_systeem])

    def gezin_ontvangen(self, melding_id: str, tijdstip: datetime, kaarten: list[Contactkaart]) -> bool:
        """The hub's family match of our melding ``melding_id``: kept with the youth's family match (the latest
        ``tijdstip`` counts), and its party notified. Whether anything changed."""
        melding = self.repo.melding(melding_id)
        if melding is None or melding.bron_systeem is not None or melding.status != MeldingStatus.ACTIEF:
            return False
        self.repo.lock_jongere_by_id(melding.jongere_id)
        match = self.repo.actieve_match(melding.jongere_id, MatchSoort.GEZINSMATCH)
        leden: dict[str, Any] = json.loads(match.leden) if match is not None and match.leden else {}
        extern: dict[str, Any] = leden.setdefault("extern", {})
        tijd = in_utc(tijdstip).isoformat()
        if melding_id in extern and extern[melding_id]["tijdstip"] >= tijd:
            return False
        voor = self._gezinsbeeld(match, melding, None).partijen if match is not None else ()
        extern[melding_id] = {"tijdstip": tijd, "kaarten": [k.naar_json() for k in kaarten]}
        if match is None:
            if not kaarten:
                return True
            match = self._nieuwe_gezinsmatch(melding.jongere_id)
            leden.setdefault("leden", [])
            leden.setdefault("kijkers", [])
        match.leden = compact(leden)
        self.repo.flush()
        na = self._gezinsbeeld(match, melding, None).partijen
        if not leden.get("leden") and not any(v["kaarten"] for v in extern.values()):
            match.status, match.beeindigd = MatchStatus.BEEINDIGD, self.nu
            self.repo.flush()
        if [compact(k.naar_json()) for k in voor] != [compact(k.naar_json()) for k in na]:
            self._gezin_signaal(match, melding, list(voor), list(na))
        return True
