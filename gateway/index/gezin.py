"""Family matches (gezinsmatch): active meldingen on youths the population register relates.

A youth's family match lists the active meldingen on related youths (a shared home address that is not an
institution, or a shared parent, in the population register). Each party with an active melding on the
youth sees those of *other* instanties: nieuweMatch when its view becomes non-empty, gewijzigdeMatch when
it changes, beeindigdeMatch when it empties.
"""

from __future__ import annotations

import json
import uuid

from gateway.domain.model import MatchBeeld
from gateway.domain.soorten import MatchSoort, MatchStatus, SignaalSoort
from gateway.index.kern import compact, kaart
from gateway.index.uitwisseling import Uitwisseling
from store import models as m


class Gezin(Uitwisseling):
    def _gezin_na_wijziging(self, jongere_id: int, sleutel: str) -> None:
        """The youth's meldingen changed: recompute its family match and those of its related youths."""
        if not sleutel.startswith("bsn:") or not self._brp_gevuld():
            return  # only the population register relates youths, and it knows them by BSN
        verwanten = self.repo.verwanten(sleutel[4:])
        if not verwanten and self.repo.actieve_match(jongere_id, MatchSoort.GEZINSMATCH) is None:
            return
        ids = {jongere_id, *self.repo.jongere_ids(f"bsn:{bsn}" for bsn in verwanten)}
        for verwant_id in sorted(ids):
            self.herbereken_gezin(verwant_id)

    def herbereken_gezin(self, jongere_id: int) -> None:
        """Bring one youth's family match up to date and notify each of our parties whose view changed."""
        jongere = self.repo.jongere(jongere_id)
        assert jongere is not None
        verwanten = self.repo.verwanten(jongere.sleutel[4:]) if jongere.sleutel.startswith("bsn:") else set()
        leden = [
            a
            for verwant_id in self.repo.jongere_ids(f"bsn:{bsn}" for bsn in verwanten)
            for a in self.repo.actieve_meldingen(verwant_id)
        ]
        kijkers = list(self.repo.actieve_meldingen(jongere_id))
        match = self.repo.actieve_match(jongere_id, MatchSoort.GEZINSMATCH)
        oud: dict[str, list[int]] = json.loads(match.leden) if match is not None and match.leden else {}
        nieuw = {"leden": sorted(a.id for a in leden), "kijkers": sorted(k.id for k in kijkers)}
        if oud == nieuw:
            return
        meldingen = {a.id: a for a in [*leden, *kijkers]}
        vroeger = {*oud.get("leden", []), *oud.get("kijkers", [])} - meldingen.keys()
        meldingen.update((a.id, a) for a in self._meldingen(sorted(vroeger)))
        instanties = self.repo.instanties_by_id(a.instantie_id for a in meldingen.values())

        def zicht(stand: dict[str, list[int]], kijker: int) -> list[m.Melding]:
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
        actief = any(zicht(nieuw, k) for k in nieuw["kijkers"])
        if match is None:
            if not actief:
                return
            match = m.Match(
                match_id=str(uuid.uuid4()),
                jongere_id=jongere_id,
                soort=MatchSoort.GEZINSMATCH,
                status=MatchStatus.ACTIEF,
                ontstaan=self.nu,
            )
            self.repo.add(match)
            self._afstemming[match.id] = None  # arose in this transaction: no recorded contact yet
        match.leden = compact(nieuw)
        if not actief:
            match.status, match.beeindigd = MatchStatus.BEEINDIGD, self.nu
        self.repo.flush()
        for wie, voor, na in sorted(wijzigingen, key=lambda w: w[0].instantie_id):
            if instanties[wie.instantie_id].systeem is not None:
                continue  # another system's party: its own system notifies it
            if not voor:
                soort = SignaalSoort.NIEUWE_MATCH
            elif not na:
                soort = SignaalSoort.BEEINDIGDE_MATCH
            else:
                soort = SignaalSoort.GEWIJZIGDE_MATCH
            partijen = tuple(kaart(a, instanties[a.instantie_id]) for a in (na or voor))
            status = MatchStatus.BEEINDIGD if not na else MatchStatus.ACTIEF
            beeld = MatchBeeld(match.match_id, wie.melding_id, MatchSoort.GEZINSMATCH, status, match.ontstaan, partijen)
            if soort == SignaalSoort.NIEUWE_MATCH:
                self._tel(wie.instantie_id, "gezinsmatches")
            self._signaal(wie.instantie_id, soort, wie.melding_id, self._met_regie(beeld, match).to_json())
