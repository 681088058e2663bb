"""Synthetic population registers, for tests, demos and load tests: never real people.

``genereer`` builds households the way the index meets them, so that every kind of family match has
material to work on:

- families: one home address, one or two parents aged 25–60, 0–4 children aged 0–22 who live there and
  have both parents as ``ouder``;
- single parents: the other parent is listed as ``ouder`` but lives outside the file, or is unknown;
- divorced parents at two addresses with the children split between them: siblings who share parents
  but no address;
- adults without children (a few without a known address);
- institution addresses (``instelling``) with 5–20 children each, every one from another family (the
  parents live elsewhere) or without known parents: residents who must not be taken for family;
- a small fraction of deceased persons, who keep their last address as in the BRP.

Everything is drawn from ``random.Random(seed)``: the same arguments give the same register. BSNs are
consecutive eight-digit prefixes from a seeded start, each completed with its eleven-test check digit;
prefixes whose check digit would be 10 are skipped. They are synthetic and not taken from a reserved
test range: load generated files into test environments only.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from gateway.brp.bestand import Adres, Bevolking, Persoon
from gateway.domain.regels import plus_jaren

# CBS gemeentecode and a range of four-digit postcodes of that municipality.
GEMEENTEN: tuple[tuple[str, int, int], ...] = (
    ("0014", 9711, 9747),  # Groningen
    ("0193", 8011, 8046),  # Zwolle
    ("0268", 6511, 6546),  # Nijmegen
    ("0344", 3511, 3585),  # Utrecht
    ("0363", 1011, 1109),  # Amsterdam
    ("0518", 2491, 2599),  # 's-Gravenhage
    ("0599", 3011, 3089),  # Rotterdam
    ("0772", 5611, 5658),  # Eindhoven
)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_NIET_GEBRUIKT = frozenset({"SA", "SD", "SS"})  # letter pairs Dutch postcodes do not use

PERSONEN_PER_INSTELLING = 2000  # one institution per this many persons (and one from 100 persons on)
_PLAATSING_KANS = 0.05  # chance that a child aged 4–17 of a family lives in an institution, while one has room
_OVERLIJDEN_KANS = 0.004
_OVERLIJDEN_KANS_OUDEREN = 0.04  # aged 70 and over
_ZONDER_ADRES_KANS = 0.01  # of adults living alone

# Number of children and their weights, per kind of household.
_Verdeling = tuple[tuple[int, ...], tuple[int, ...]]
_KINDEREN_GEZIN: _Verdeling = (0, 1, 2, 3, 4), (15, 25, 35, 17, 8)
_KINDEREN_EENOUDER: _Verdeling = (1, 2, 3, 4), (35, 40, 18, 7)
_KINDEREN_GESCHEIDEN: _Verdeling = (2, 3, 4), (50, 35, 15)


def _gewogen(gewichten: range) -> list[int]:
    """Σ weight·digit of every four-digit block, for the eleven-test of a prefix in two look-ups."""
    return [sum(int(c) * w for c, w in zip(f"{n:04d}", gewichten, strict=True)) for n in range(10_000)]


def bsn_reeks(start: int) -> Iterator[str]:
    """Valid BSNs in increasing order from the eight-digit prefix ``start``: each prefix gets its check
    digit, Σ (9..2)·dᵢ mod 11; a prefix whose check digit would be 10 is skipped."""
    hoog, laag = _gewogen(range(9, 5, -1)), _gewogen(range(5, 1, -1))
    for prefix in range(start, 100_000_000):
        controle = (hoog[prefix // 10_000] + laag[prefix % 10_000]) % 11
        if controle < 10:
            yield f"{prefix:08d}{controle}"
    raise ValueError("no BSNs left above the start prefix")


@dataclass
class _Instelling:
    adres: Adres
    plaatsen_gezinnen: int  # places for children from families in the file
    plaatsen_zonder_ouders: int  # places for children without known parents (e.g. unaccompanied minors)


@dataclass
class _Opbouw:
    rng: random.Random
    peildatum: date
    bsns: Iterator[str]
    adressen: list[Adres] = field(default_factory=list)
    personen: list[Persoon] = field(default_factory=list)
    instellingen: list[_Instelling] = field(default_factory=list)
    volgnummer: int = 0
    open_plaatsen: int = 0  # places in institutions not yet taken

    def adres(self, gemeente: tuple[str, int, int] | None = None, instelling: bool = False) -> Adres:
        code, laag, hoog = gemeente or self.rng.choice(GEMEENTEN)
        letters = self.rng.choice(_LETTERS) + self.rng.choice(_LETTERS)
        while letters in _NIET_GEBRUIKT:
            letters = self.rng.choice(_LETTERS) + self.rng.choice(_LETTERS)
        self.volgnummer += 1
        # BAG style: gemeentecode, object type 20 (nummeraanduiding), a ten-digit serial number.
        adres = Adres(
            id=f"{code}20{self.volgnummer:010d}",
            postcode=f"{self.rng.randint(laag, hoog)}{letters}",
            huisnummer=self.rng.randint(1, 250),
            gemeente=code,
            instelling=instelling,
        )
        self.adressen.append(adres)
        return adres

    def geboren(self, jaren: int) -> date:
        """A birth date that makes the person exactly ``jaren`` old on the peildatum."""
        return plus_jaren(self.peildatum, -jaren) - timedelta(days=self.rng.randint(0, 364))

    def geslacht(self) -> str:
        r = self.rng.random()
        return "O" if r < 0.005 else ("M" if r < 0.5025 else "V")

    def persoon(
        self,
        jaren: int,
        adres: Adres | None,
        ouders: tuple[str, ...] = (),
        geslacht: str | None = None,
        jongste_kind: int | None = None,
    ) -> Persoon:
        """A person ``jaren`` old; one who dies does so in the last three years, and a parent not before
        the youngest child (``jongste_kind`` years old) is born."""
        geboren = self.geboren(jaren)
        overleden = None
        kans = _OVERLIJDEN_KANS_OUDEREN if jaren >= 70 else _OVERLIJDEN_KANS
        if self.rng.random() < kans:
            eerste = max(geboren, self.peildatum - timedelta(days=3 * 365))
            if jongste_kind is not None:
                eerste = max(eerste, plus_jaren(self.peildatum, -jongste_kind))
            if eerste < self.peildatum:
                overleden = eerste + timedelta(days=self.rng.randrange((self.peildatum - eerste).days))
        p = Persoon(
            bsn=next(self.bsns),
            geboortedatum=geboren,
            geslacht=geslacht or self.geslacht(),
            overlijdensdatum=overleden,
            adres=adres.id if adres else None,
            ouders=ouders,
        )
        self.personen.append(p)
        return p

    def ouderparen_geslacht(self) -> tuple[str, str]:
        r = self.rng.random()
        return ("M", "M") if r < 0.05 else (("V", "V") if r < 0.10 else ("V", "M"))

    def kinderen(self, aantal: int, ouder_jaren: int) -> list[int]:
        oudste = max(0, min(22, ouder_jaren - 18))
        return sorted((self.rng.randint(0, oudste) for _ in range(aantal)), reverse=True)

    def plaats(self, leeftijden: list[int]) -> int | None:
        """Which child (index) of a family lives in an institution, if any: at most one per family."""
        if not any(inst.plaatsen_gezinnen > 0 for inst in self.instellingen):
            return None
        for i, jaren in enumerate(leeftijden):
            if 4 <= jaren <= 17 and self.rng.random() < _PLAATSING_KANS:
                return i
        return None

    def instelling_voor_gezin(self) -> _Instelling:
        instelling = self.rng.choice([i for i in self.instellingen if i.plaatsen_gezinnen > 0])
        instelling.plaatsen_gezinnen -= 1
        self.open_plaatsen -= 1
        return instelling


def genereer(personen: int, seed: int, peildatum: date) -> Bevolking:
    """A synthetic register of exactly ``personen`` persons on ``peildatum``, the same for the same seed."""
    if personen < 0:
        raise ValueError("personen must be zero or more")
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    # External parents take BSNs too: room for three per person is plenty.
    hoogste_start = 100_000_000 - 3 * personen - 1000
    if hoogste_start <= 10_000_000:
        raise ValueError(f"cannot generate {personen} persons with distinct BSNs")
    o = _Opbouw(rng, peildatum, bsn_reeks(rng.randrange(10_000_000, hoogste_start)))

    aantal_instellingen = personen // PERSONEN_PER_INSTELLING or (1 if personen >= 100 else 0)
    for _ in range(aantal_instellingen):
        plaatsen = rng.randint(5, 20)
        zonder_ouders = rng.randint(0, plaatsen // 3)
        o.instellingen.append(_Instelling(o.adres(instelling=True), plaatsen - zonder_ouders, zonder_ouders))
        o.open_plaatsen += plaatsen

    # The register is complete when the persons made plus the places still open reach ``personen``.
    while len(o.personen) + o.open_plaatsen < personen:
        _huishouden(o, personen - len(o.personen) - o.open_plaatsen)

    for inst in o.instellingen:  # places no family filled: children without known parents
        for _ in range(inst.plaatsen_gezinnen + inst.plaatsen_zonder_ouders):
            o.persoon(rng.randint(12, 17), inst.adres)
        o.open_plaatsen -= inst.plaatsen_gezinnen + inst.plaatsen_zonder_ouders
        inst.plaatsen_gezinnen = inst.plaatsen_zonder_ouders = 0
    assert len(o.personen) == personen
    return Bevolking(peildatum, o.adressen, o.personen)


def _huishouden(o: _Opbouw, ruimte: int) -> None:
    """One household that adds at most ``ruimte`` persons to the register (children placed in an
    institution take a place already counted)."""
    rng = o.rng
    soort = rng.random()
    if soort < 0.30 or ruimte < 2:
        _alleen(o, 1 if ruimte < 2 or rng.random() < 0.6 else 2)
        return
    ouders = 1 if 0.75 <= soort < 0.88 else 2
    jaren = [rng.randint(25, 60)]
    if ouders == 2:
        jaren.append(min(60, max(25, jaren[0] + rng.randint(-5, 5))))
    if soort < 0.75:
        waarden, gewichten = _KINDEREN_GEZIN
    elif soort < 0.88:
        waarden, gewichten = _KINDEREN_EENOUDER
    else:
        waarden, gewichten = _KINDEREN_GESCHEIDEN
    leeftijden = o.kinderen(rng.choices(waarden, gewichten)[0], min(jaren))
    geplaatst = o.plaats(leeftijden)
    if ouders + len(leeftijden) - (geplaatst is not None) > ruimte:
        _alleen(o, 1)
        return
    if soort < 0.75:
        _gezin(o, jaren, leeftijden, geplaatst)
    elif soort < 0.88:
        _eenouder(o, jaren[0], leeftijden, geplaatst)
    else:
        _gescheiden(o, jaren, leeftijden, geplaatst)


def _alleen(o: _Opbouw, aantal: int) -> None:
    """Adults without children at home: one alone (now and then without a known address) or a couple."""
    adres = None if aantal == 1 and o.rng.random() < _ZONDER_ADRES_KANS else o.adres()
    for _ in range(aantal):
        o.persoon(o.rng.randint(18, 90), adres)


def _kinderen(
    o: _Opbouw, leeftijden: list[int], ouders: tuple[str, ...], thuis: list[Adres], geplaatst: int | None
) -> None:
    """The children of one family, child i at ``thuis[i % len(thuis)]`` unless placed in an institution."""
    for i, jaren in enumerate(leeftijden):
        adres = o.instelling_voor_gezin().adres if i == geplaatst else thuis[i % len(thuis)]
        o.persoon(jaren, adres, ouders)


def _gezin(o: _Opbouw, jaren: list[int], leeftijden: list[int], geplaatst: int | None) -> None:
    thuis = o.adres()
    geslachten = o.ouderparen_geslacht() if len(jaren) == 2 else (o.geslacht(),)
    jongste = min(leeftijden, default=None)
    ouders = tuple(
        o.persoon(j, thuis, geslacht=g, jongste_kind=jongste).bsn for j, g in zip(jaren, geslachten, strict=True)
    )
    _kinderen(o, leeftijden, ouders, [thuis], geplaatst)


def _eenouder(o: _Opbouw, jaren: int, leeftijden: list[int], geplaatst: int | None) -> None:
    thuis = o.adres()
    geslacht = "V" if o.rng.random() < 0.8 else "M"
    ouder = o.persoon(jaren, thuis, geslacht=geslacht, jongste_kind=min(leeftijden, default=None)).bsn
    # Half of them list the other parent, who lives outside the file (abroad, or not in this extract).
    ouders = (ouder, next(o.bsns)) if o.rng.random() < 0.5 else (ouder,)
    _kinderen(o, leeftijden, ouders, [thuis], geplaatst)


def _gescheiden(o: _Opbouw, jaren: list[int], leeftijden: list[int], geplaatst: int | None) -> None:
    """Two homes, now and then in two municipalities; the children alternate between them."""
    eerste = o.adres()
    tweede = o.adres() if o.rng.random() < 0.3 else o.adres(next(g for g in GEMEENTEN if g[0] == eerste.gemeente))
    geslachten = o.ouderparen_geslacht()
    jongste = min(leeftijden, default=None)
    ouders = (
        o.persoon(jaren[0], eerste, geslacht=geslachten[0], jongste_kind=jongste).bsn,
        o.persoon(jaren[1], tweede, geslacht=geslachten[1], jongste_kind=jongste).bsn,
    )
    _kinderen(o, leeftijden, ouders, [eerste, tweede], geplaatst)


def verhuis(bevolking: Bevolking, bsn: str, nieuw_adres: Adres, *, peildatum: date | None = None) -> Bevolking:
    """A copy of the register in which ``bsn`` lives at ``nieuw_adres`` (added when its id is new).

    The old address stays, even when nobody lives there any more. ``peildatum`` dates the new snapshot
    (default: unchanged). A different address under an existing id is refused.
    """
    index = next((i for i, p in enumerate(bevolking.personen) if p.bsn == bsn), None)
    if index is None:
        raise KeyError(f"no persoon with bsn {bsn}")
    bekend = next((a for a in bevolking.adressen if a.id == nieuw_adres.id), None)
    if bekend is not None and bekend != nieuw_adres:
        raise ValueError(f"adres {nieuw_adres.id} exists with other data: {bekend}")
    adressen = list(bevolking.adressen) if bekend else [*bevolking.adressen, nieuw_adres]
    personen = list(bevolking.personen)
    personen[index] = replace(personen[index], adres=nieuw_adres.id)
    return Bevolking(peildatum or bevolking.peildatum, adressen, personen)
