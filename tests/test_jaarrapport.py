"""Management information a municipality can publish, accepted on a simulated year.

A generated population register of 10,000 persons is loaded; a year of filings, endings of every reason
(by the filer: unjustified, risk gone; by the retention run: expired, 23rd birthday, death after a new
register was loaded mid-year, which also moves youths to another municipality), coordination and
recorded contacts is driven through the index's use cases in process, as the service and the retention
run call them. The test keeps its own record of what happened, and from it recomputes every number of
the year report, with its own rules for client matches and family matches (from the register it
generated) and its own idea of where each count belongs.

Then ``vir-gateway rapport jaar`` (in process, and once as the real command):

- with threshold 1 (nothing suppressed) every cell and every median equals the recomputed one, for the
  whole area and for one municipality;
- with threshold 5 every published number is the true one and none lies between 1 and 4, every ``<5``
  hides 0 to 4 and every ``x`` at least 5, and no hidden cell can be worked out: no total, sum of reasons
  or balance of the stock has exactly one hidden cell, none pins a hidden cell within what a reader knows
  of it, and no hidden cell is a linear combination of what is published (the test's own elimination
  over a prime field, on equations it writes down itself from what the columns mean).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway import beheerlog
from gateway.brp.bestand import Adres, Bevolking
from gateway.brp.genereer import GEMEENTEN, genereer
from gateway.brp.laden import laden
from gateway.config import Settings
from gateway.domain.jongere import Jongere
from gateway.domain.model import Meldingsbevoegde
from gateway.domain.regels import Regels, plus_jaren
from gateway.domain.sleutelring import Sleutelring
from gateway.domain.soorten import Reden
from gateway.index import Verwijsindex
from gateway.onderhoud import onderhoud
from store.db import Database
from store.migrate import upgrade
from store.profielen import Profielen
from store.repository import Repository
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support import log_size, log_tail, run_cli

JAAR = 2026
PERSONEN = int(os.environ.get("VIR_TEST_JAAR_PERSONEN", "10000"))
REGELS = Regels()
RING = Sleutelring({1: b"\x01" * 32})  # the national key of the simulated index (a test's own)
REDEN_SOORT = {"onterecht": "onterecht", "risicoWeggenomen": "risicoWeggenomen", "verlopen": "verlopen",
               "leeftijd": "leeftijd", "overlijden": "overlijden", "gewist": "gewist"}  # fmt: skip
KOLOMMEN = ("stand_begin", "meldingen", "beeindigd", *REDEN_SOORT, "stand_eind", "clientmatches",
            "gezinsmatches", "regie", "afstemmingen", "eerste_contact")  # fmt: skip
# (OIN, name, sector, municipality of the profile, may coordinate)
INSTANTIES = [
    ("00000001100000000001", "Jeugdzorg Noord", "jeugdzorg", "0014", True),
    ("00000001100000000002", "GGD Midden", "zorg", "0344", True),
    ("00000001100000000003", "Basisschool De Linde", "onderwijs", "0014", False),
    ("00000001100000000004", "Politie Oost", "politie", "0268", False),
    ("00000001100000000005", "Wijkteam Zuid", "jeugdzorg", "0599", True),
    ("00000001100000000006", "Lyceum Centrum", "onderwijs", "0363", False),
    ("00000001100000000007", "Huisartsenpraktijk", "zorg", None, False),
    ("00000001100000000008", "Maatschappelijk Werk", None, "0772", True),
]
SECTOR = {oin: sector for oin, _, sector, _, _ in INSTANTIES}


# --- the test's own record ------------------------------------------------------------------------------


@dataclass
class Melding:
    melding_id: str
    jongere: str  # the youth's key in this test: a BSN, or "vsn:…"
    oin: str
    gemeente: str | None  # where it was counted when filed
    einddatum: date | None


@dataclass
class Boek:
    """What happened, as the test saw it: counted events (time, OIN, kind, municipality, days)."""

    gebeurtenissen: list[tuple[datetime, str, str, str | None, int | None]] = field(default_factory=list)

    def tel(self, t: datetime, oin: str, soort: str, gemeente: str | None, dagen: int | None = None) -> None:
        self.gebeurtenissen.append((t, oin, soort, gemeente, dagen))


class Register:
    """The population register as the test generated it: where a youth lives, who is related."""

    def __init__(self, bevolking: Bevolking) -> None:
        self.laad(bevolking)

    def laad(self, bevolking: Bevolking) -> None:
        self.bevolking = bevolking
        self.personen = {p.bsn: p for p in bevolking.personen}
        self.adressen = {a.id: a for a in bevolking.adressen}
        per_adres: dict[str, set[str]] = defaultdict(set)
        per_ouder: dict[str, set[str]] = defaultdict(set)
        for p in bevolking.personen:
            if p.adres is not None and not self.adressen[p.adres].instelling:
                per_adres[p.adres].add(p.bsn)
            for ouder in p.ouders:
                per_ouder[ouder].add(p.bsn)
        self.verwanten: dict[str, set[str]] = {}
        for p in bevolking.personen:
            samen = set(per_adres.get(p.adres, set())) if p.adres is not None else set()
            for ouder in p.ouders:
                samen |= per_ouder[ouder]
            self.verwanten[p.bsn] = samen - {p.bsn}

    def gemeente(self, bsn: str) -> str | None:
        p = self.personen.get(bsn)
        return self.adressen[p.adres].gemeente if p is not None and p.adres is not None else None


# --- the simulation -----------------------------------------------------------------------------------------


@dataclass
class Simulatie:
    db: Database
    settings: Settings
    register: Register
    rng: random.Random
    boek: Boek = field(default_factory=Boek)
    actief: dict[str, dict[str, Melding]] = field(default_factory=lambda: defaultdict(dict))  # youth → OIN → melding
    match: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # youth → (matchId, arose)
    regievoerder: dict[str, str] = field(default_factory=dict)  # matchId → OIN
    afgestemd: set[str] = field(default_factory=set)  # matchIds with a recorded contact
    zicht: dict[tuple[str, str], bool] = field(default_factory=dict)  # (youth, OIN) → sees a family match
    redenen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    aantal: int = 0

    def gemeente(self, jongere: str, oin: str) -> str | None:
        """Where the test expects a count: the youth's municipality now, else the organisation's."""
        woont = None if jongere.startswith("vsn:") else self.register.gemeente(jongere)
        return woont or next(g for o, _, _, g, _ in INSTANTIES if o == oin)

    @contextmanager
    def index(self, nu: datetime) -> Iterator[tuple[Repository, Verwijsindex]]:
        """One operation in its own transaction, as the service runs a request."""
        with self.db.transaction() as s:
            repo = Repository(s)
            index = Verwijsindex(repo, REGELS, nu)
            yield repo, index
            index.afronden()

    # family matches: a melding sees the active meldingen of other instanties on related youths
    def _familie(self, nu: datetime, rond: set[str]) -> None:
        for jongere in sorted(rond):
            for oin in self.actief.get(jongere, {}):
                ziet = any(
                    o != oin
                    for verwant in self.register.verwanten.get(jongere, ())
                    for o in self.actief.get(verwant, {})
                )
                if ziet and not self.zicht.get((jongere, oin), False):
                    self.boek.tel(nu, oin, "gezinsmatches", self.gemeente(jongere, oin))
                self.zicht[jongere, oin] = ziet

    def _rond(self, jongere: str) -> set[str]:
        return {jongere} if jongere.startswith("vsn:") else {jongere, *self.register.verwanten.get(jongere, ())}

    def afgeven(self, nu: datetime, jongere: str, oin: str, einddatum: date | None) -> None:
        if jongere.startswith("vsn:"):
            sleutel = Jongere.zonder_bsn(jongere[4:], None, date(2012, 5, 1), "V", RING)
        else:
            sleutel = Jongere.met_bsn(jongere, self.register.personen[jongere].geboortedatum)
        with self.index(nu) as (repo, index):
            r = index.afgeven(repo.instantie(oin), sleutel, Meldingsbevoegde("P. Professional"), einddatum, "ECD")
        self.aantal += 1
        gemeente = self.gemeente(jongere, oin)
        self.boek.tel(nu, oin, "meldingen", gemeente)
        anderen = set(self.actief[jongere])
        self.actief[jongere][oin] = Melding(r.melding_id, jongere, oin, gemeente, einddatum)
        if len(anderen) == 1:  # a client match arises: both parties count
            [ander] = anderen
            for o in sorted({ander, oin}):
                self.boek.tel(nu, o, "clientmatches", self.gemeente(jongere, o))
            [beeld] = [b for b in r.matches if b.soort == "clientmatch"]
            self.match[jongere] = (beeld.match_id, nu)
        elif len(anderen) > 1:
            self.boek.tel(nu, oin, "clientmatches", gemeente)
        self._familie(nu, self._rond(jongere))

    def geeindigd(self, nu: datetime, melding: Melding, reden: str) -> None:
        """The melding ended (by its filer or by the retention run): counted where it was filed."""
        self.boek.tel(nu, melding.oin, REDEN_SOORT[reden], melding.gemeente)
        self.redenen[reden] += 1
        del self.actief[melding.jongere][melding.oin]
        self.zicht.pop((melding.jongere, melding.oin), None)
        if len(self.actief[melding.jongere]) < 2:
            self.match.pop(melding.jongere, None)
        self._familie(nu, self._rond(melding.jongere))

    def beeindigen(self, nu: datetime, melding: Melding, reden: str) -> None:
        with self.index(nu) as (repo, index):
            index.beeindigen(repo.instantie(melding.oin), melding.melding_id, reden)
        self.geeindigd(nu, melding, reden)

    def wissen(self, nu: datetime, jongere: str) -> None:
        """The data subject's erasure ends every active melding of the youth (as ``betrokkene wissen``)."""
        for melding in [m for m in self.actief[jongere].values() if m.melding_id]:
            with self.index(nu) as (repo, index):
                rij = repo.melding(melding.melding_id)
                assert rij is not None
                index.einde(rij, Reden.GEWIST)
            self.geeindigd(nu, melding, "gewist")

    def regie(self, nu: datetime, jongere: str) -> None:
        match_id, _ = self.match[jongere]
        partijen = sorted(self.actief[jongere])
        kandidaten = [o for o in partijen if next(r for i, _, _, _, r in INSTANTIES if i == o)]
        if not kandidaten:
            return
        kandidaat = self.rng.choice(kandidaten)
        with self.index(nu) as (repo, index):
            index.regievoerder(repo.instantie(self.rng.choice(partijen)), match_id, kandidaat)
        if self.regievoerder.get(match_id) != kandidaat:
            self.regievoerder[match_id] = kandidaat
            self.boek.tel(nu, kandidaat, "regie", self.gemeente(jongere, kandidaat))

    def afstemming(self, nu: datetime, jongere: str) -> None:
        match_id, ontstaan = self.match[jongere]
        oin = self.rng.choice(sorted(self.actief[jongere]))
        datum = ontstaan.date() + timedelta(days=self.rng.randint(0, (nu.date() - ontstaan.date()).days))
        with self.index(nu) as (repo, index):
            index.afstemming(repo.instantie(oin), match_id, datum)
        eerste = match_id not in self.afgestemd
        self.afgestemd.add(match_id)
        dagen = (datum - ontstaan.date()).days if eerste else None
        self.boek.tel(nu, oin, "afstemmingen", self.gemeente(jongere, oin), dagen)

    def onderhoud(self, nu: datetime, logboek: Any) -> None:
        verslag = onderhoud(self.settings, self.db, logboek, nu, actor="t.tester")
        per_id = {m.melding_id: m for per_oin in self.actief.values() for m in per_oin.values()}
        for reden, ids in sorted(verslag.beeindigd.items()):
            for melding_id in ids:
                self.geeindigd(nu, per_id[melding_id], reden)


# --- what the report must say ------------------------------------------------------------------------------


def verwacht(boek: Boek, indeling: str, gemeente: str | None = None) -> dict[str, dict[str, Any]]:
    """The rows of one table, by key, recomputed from the record: counts per column, and the median."""
    namen = {oin: naam for oin, naam, _, _, _ in INSTANTIES}
    rijen: dict[str, dict[str, Any]] = {}
    stand: dict[str, int] = defaultdict(int)
    for t, oin, soort, waar, dagen in sorted(boek.gebeurtenissen, key=lambda g: g[0]):
        if t.year != JAAR or (gemeente is not None and waar != gemeente):
            continue
        if indeling == "periode":
            sleutel = f"{t.year:04d}-{t.month:02d}"
        elif indeling == "gemeente":
            sleutel = waar or "onbekend"
        elif indeling == "sector":
            sleutel = SECTOR[oin] or "onbekend"
        else:
            sleutel = oin
        rij = rijen.setdefault(sleutel, {"cellen": dict.fromkeys(KOLOMMEN, 0), "dagen": [], "label": namen.get(oin)})
        cellen = rij["cellen"]
        cellen[soort] += 1
        if soort in REDEN_SOORT:
            cellen["beeindigd"] += 1
        if soort == "afstemmingen" and dagen is not None:
            cellen["eerste_contact"] += 1
            rij["dagen"].append(dagen)
    # The stock: the simulation starts on 1 January with an empty index, so it opens at 0.
    for sleutel in sorted(rijen):
        cellen = rijen[sleutel]["cellen"]
        cellen["stand_begin"] = stand[indeling if indeling == "periode" else sleutel]
        cellen["stand_eind"] = cellen["stand_begin"] + cellen["meldingen"] - cellen["beeindigd"]
        stand[indeling if indeling == "periode" else sleutel] = cellen["stand_eind"]
    for rij in rijen.values():
        rij["mediaan"] = float(statistics.median(rij["dagen"])) if rij["dagen"] else None
    return rijen


def totaal(rijen: dict[str, dict[str, Any]], periode: bool) -> dict[str, int]:
    som = {k: sum(r["cellen"][k] for r in rijen.values()) for k in KOLOMMEN}
    if periode:
        geordend = [rijen[k]["cellen"] for k in sorted(rijen)]
        som["stand_begin"], som["stand_eind"] = geordend[0]["stand_begin"], geordend[-1]["stand_eind"]
    return som


# --- the fixture: one simulated year per backend -------------------------------------------------------------


@dataclass
class Jaar:
    sim: Simulatie
    env: dict[str, str]
    tmp: Path
    html: Path | None = None

    def rapport(self, *args: str) -> dict[str, Any]:
        """``rapport jaar`` with ``args``: its figures (JSON); the HTML file beside them is kept in ``html``."""
        uit = self.tmp / f"jaar-{len(list(self.tmp.glob('jaar-*.json')))}.json"
        self.html = uit.with_suffix(".html")
        r = run_cli("rapport", "jaar", str(JAAR), "--json", str(uit), "--uit", str(self.html), *args, env=self.env)
        assert r.returncode == 0, r.stderr
        return dict(json.loads(uit.read_text()))


def _inrichten(db: Database, nu: datetime) -> None:
    with db.transaction() as s:
        repo = Repository(s)
        for oin, naam, sector, gemeente, regie in INSTANTIES:
            inst = repo.add_instantie(oin, naam, None, nu)
            inst.mag_regievoeren = regie
            inhoud = Profielen(s).inhoud_voor_wijziging(inst.id)
            inhoud.sector, inhoud.gemeente = sector, gemeente
        repo.flush()


def _tweede_register(reg: Register, sim: Simulatie, rng: random.Random, peildatum: date) -> Bevolking:
    """The register on 1 July: five youths with an active melding died a week before, ten moved to a new
    address in another municipality."""
    met_melding = sorted(j for j, per in sim.actief.items() if per and not j.startswith("vsn:"))
    doden = set(rng.sample(met_melding, 5))
    verhuizers = rng.sample(sorted(set(met_melding) - doden), 10)
    adressen = list(reg.bevolking.adressen)
    nieuw_adres: dict[str, str] = {}
    for i, bsn in enumerate(verhuizers):
        oud = reg.gemeente(bsn)
        code = next(c for c, _, _ in GEMEENTEN[i % len(GEMEENTEN) :] + GEMEENTEN if c != oud)
        adres = Adres(f"{code}20{9_000_000_000 + i:010d}", "1011AB", 1 + i, code)
        adressen.append(adres)
        nieuw_adres[bsn] = adres.id
    personen = [
        replace(p, overlijdensdatum=peildatum - timedelta(days=7)) if p.bsn in doden
        else replace(p, adres=nieuw_adres[p.bsn]) if p.bsn in nieuw_adres
        else p
        for p in reg.bevolking.personen
    ]  # fmt: skip
    return Bevolking(peildatum, adressen, personen)


def _simuleer(sim: Simulatie, logboek: Any, rng: random.Random) -> None:
    reg = sim.register
    begin = date(JAAR, 1, 1)
    jong = [p for p in reg.bevolking.personen if p.overlijdensdatum is None and plus_jaren(p.geboortedatum, 23) > begin]
    twintigers = [p.bsn for p in jong if plus_jaren(p.geboortedatum, 23) < date(JAAR, 11, 1)][:12]
    zonder_bsn = [f"vsn:Jansen{chr(97 + i)}" for i in range(26)]  # names: the key keeps letters only
    oins = [oin for oin, *_ in INSTANTIES]
    dag = begin
    while dag.year == JAAR:
        for stap in range(rng.choice((1, 2, 3, 4))):
            nu = datetime.combine(dag, time(8, 0), UTC) + timedelta(minutes=17 * stap)
            keuze = rng.random()
            levend = [j for j, per in sim.actief.items() if per]
            if dag.month == 1 and twintigers:
                jongere = twintigers.pop()  # turns 23 this year: the retention run ends it
            elif keuze < 0.35 and levend:
                jongere = rng.choice(levend)  # another organisation joins: a client match
            elif keuze < 0.5 and levend:
                bron = rng.choice(levend)  # a sibling or housemate: a family match
                kandidaten = sorted(v for v in reg.verwanten.get(bron, ()) if _mag(reg, v, dag))
                jongere = rng.choice(kandidaten) if kandidaten else rng.choice(jong).bsn
            elif keuze < 0.55:
                jongere = rng.choice(zonder_bsn)
            else:
                jongere = rng.choice(jong).bsn
            if not jongere.startswith("vsn:") and not _mag(reg, jongere, dag):
                continue
            vrij = [o for o in oins if o not in sim.actief.get(jongere, {})]
            if not vrij:
                continue
            einddatum = dag + timedelta(days=rng.randint(20, 150)) if rng.random() < 0.1 else None
            sim.afgeven(nu, jongere, rng.choice(vrij), einddatum)
        nu = datetime.combine(dag, time(14, 0), UTC)
        actief = [m for per in sim.actief.values() for m in per.values() if m.melding_id]
        if actief and rng.random() < 0.7:
            melding = rng.choice(actief)
            sim.beeindigen(nu, melding, rng.choice(("onterecht", "risicoWeggenomen", "risicoWeggenomen")))
        if dag.day == 15 and dag.month % 3 == 0 and actief:  # a data subject's erasure, once a quarter
            sim.wissen(nu + timedelta(minutes=1), rng.choice(sorted({m.jongere for m in actief})))
        met_match = sorted(sim.match)
        if met_match and rng.random() < 0.35:
            sim.regie(nu + timedelta(minutes=5), rng.choice(met_match))
        met_match = sorted(sim.match)
        if met_match and rng.random() < 0.6:
            sim.afstemming(nu + timedelta(minutes=10), rng.choice(met_match))
        if dag == date(JAAR, 7, 1):
            tweede = _tweede_register(reg, sim, rng, dag)
            laden(sim.db, tweede, REGELS, logboek, datetime.combine(dag, time(1, 0), UTC), actor="t.tester")
            reg.laad(tweede)
            sim._familie(datetime.combine(dag, time(1, 0), UTC), set(sim.actief))
        if dag.weekday() == 0:
            sim.onderhoud(datetime.combine(dag, time(2, 0), UTC), logboek)
        dag += timedelta(days=1)


def _mag(reg: Register, bsn: str, dag: date) -> bool:
    """A youth the index may take on that day: known, alive and not yet 23."""
    p = reg.personen.get(bsn)
    return p is not None and p.overlijdensdatum is None and plus_jaren(p.geboortedatum, 23) > dag + timedelta(days=1)


@pytest.fixture(scope="module", params=BACKENDS)
def jaar(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jaar]:
    tmp = tmp_path_factory.mktemp("jaarrapport")
    url = create_pg_database() if request.param == "postgresql" else f"sqlite:///{tmp / 'vir.sqlite3'}"
    settings = Settings(data_dir=tmp / "data", database_url=url, operator="t.tester")
    db = Database(settings.url)
    upgrade(db)
    begin = datetime(JAAR, 1, 1, 0, 30, tzinfo=UTC)
    _inrichten(db, begin)
    rng = random.Random(2026)
    bevolking = genereer(PERSONEN, 17, date(JAAR, 1, 1))
    logboek = beheerlog.logboek(settings, db)
    laden(db, bevolking, REGELS, logboek, begin, actor="t.tester")
    sim = Simulatie(db, settings, Register(bevolking), rng)
    _simuleer(sim, logboek, rng)
    env = {**os.environ, "VIR_DATA_DIR": str(tmp / "data"), "VIR_DATABASE_URL": url, "VIR_OPERATOR": "t.tester"}
    yield Jaar(sim, env, tmp)
    db.dispose()
    if request.param == "postgresql":
        drop_pg_database(url)


@pytest.mark.slow
def test_the_simulated_year_has_every_kind_of_event(jaar: Jaar) -> None:
    sim = jaar.sim
    assert set(sim.redenen) == set(REDEN_SOORT), dict(sim.redenen)
    soorten = {s for _, _, s, _, _ in sim.boek.gebeurtenissen}
    assert {"meldingen", "clientmatches", "gezinsmatches", "regie", "afstemmingen"} <= soorten
    assert sum(1 for *_, d in sim.boek.gebeurtenissen if d is not None) >= 20  # first contacts
    assert sim.aantal >= 700


@pytest.mark.slow
def test_the_year_report_equals_the_record(jaar: Jaar) -> None:
    for gemeente in (None, "0014"):
        publicatie = jaar.rapport("--drempel", "1", *(("--gemeente", gemeente) if gemeente else ()))
        assert publicatie["drempel"] == 1 and publicatie["gemeente"] == gemeente
        indelingen = [t["indeling"] for t in publicatie["tabellen"]]
        assert indelingen == (["periode", "sector", "instantie"] if gemeente else
                              ["periode", "gemeente", "sector", "instantie"])  # fmt: skip
        for tabel in publicatie["tabellen"]:
            verwachte = verwacht(jaar.sim.boek, tabel["indeling"], gemeente)
            gezien = {r["sleutel"]: r for r in tabel["rijen"]}
            assert set(gezien) == set(verwachte), tabel["indeling"]
            for sleutel, rij in verwachte.items():
                assert gezien[sleutel]["cellen"] == rij["cellen"], (tabel["indeling"], sleutel)
                assert gezien[sleutel]["mediaanDagen"] == rij["mediaan"], (tabel["indeling"], sleutel)
            assert tabel["totaal"]["cellen"] == totaal(verwachte, tabel["indeling"] == "periode")
        alle = [d for _, _, s, g, d in jaar.sim.boek.gebeurtenissen if d is not None and gemeente in (None, g)]
        assert publicatie["tabellen"][0]["totaal"]["mediaanDagen"] == float(statistics.median(alle))


# --- what a reader of the published figures can work out ----------------------------------------------------

P = (1 << 61) - 1  # a prime: elimination over GF(P) finds what the equations determine over the rationals


def _cellen(publicatie: dict[str, Any]) -> tuple[dict[tuple[str, ...], int | str], list[dict[tuple[str, ...], int]]]:
    """Every published cell under the test's own name for what it counts, and the equations that hold
    between them by what the columns mean: a row's endings are the sum of its reasons, its closing stock
    is its opening stock plus new minus ended, a total is the sum of its table's rows (a period table's
    stock excepted: its total is the first opening and the last closing stock), and the total row is the
    same in every table. A cell under one name must be published alike wherever it stands."""
    van, tot = date.fromisoformat(publicatie["van"]), date.fromisoformat(publicatie["tot"])
    cellen: dict[tuple[str, ...], int | str] = {}
    vergelijkingen: list[dict[tuple[str, ...], int]] = []

    def naam(indeling: str | None, rij: dict[str, Any], kolom: str) -> tuple[str, ...]:
        begin, eind = date.fromisoformat(rij["van"]), date.fromisoformat(rij["tot"]) + timedelta(days=1)
        if kolom.startswith("stand_") and indeling in (None, "periode"):
            return ("stand", (begin if kolom == "stand_begin" else eind).isoformat())
        return ("totaal", kolom) if indeling is None else (indeling, rij["sleutel"], kolom)

    for tabel in publicatie["tabellen"]:
        indeling = tabel["indeling"]
        rijen = [(indeling, r) for r in tabel["rijen"]] + [(None, tabel["totaal"])]
        for wie, rij in rijen:
            for kolom in KOLOMMEN:
                cel = naam(wie, rij, kolom)
                assert cellen.setdefault(cel, rij["cellen"][kolom]) == rij["cellen"][kolom], cel
            n = {k: naam(wie, rij, k) for k in KOLOMMEN}
            vergelijkingen.append({n["beeindigd"]: 1, **{n[r]: -1 for r in REDEN_SOORT}})
            vergelijkingen.append({n["stand_eind"]: 1, n["stand_begin"]: -1, n["meldingen"]: -1, n["beeindigd"]: 1})
        for kolom in KOLOMMEN:
            if indeling == "periode" and kolom.startswith("stand_"):
                continue
            som: dict[tuple[str, ...], int] = defaultdict(int)
            for r in tabel["rijen"]:
                som[naam(indeling, r, kolom)] += 1
            som[naam(None, tabel["totaal"], kolom)] -= 1
            vergelijkingen.append(dict(som))
    assert ("stand", van.isoformat()) in cellen and ("stand", (tot + timedelta(days=1)).isoformat()) in cellen
    return cellen, vergelijkingen


def _grenzen(waarde: int | str, drempel: int) -> tuple[float, float]:
    if isinstance(waarde, int):
        return waarde, waarde
    return (0, drempel - 1) if waarde == f"<{drempel}" else (drempel, float("inf"))


def _bepaald(vergelijkingen: list[dict[tuple[str, ...], int]], onbekend: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """The unknowns a combination of the equations pins down: reduced row echelon form over GF(P), where a
    row with a single entry names one."""
    rijen = [{c: f % P for c, f in v.items() if c in onbekend and f % P} for v in vergelijkingen]
    rijen = [r for r in rijen if r]
    spillen: list[dict[tuple[str, ...], int]] = []
    for kolom in sorted(onbekend):
        rij = next((r for r in rijen if kolom in r), None)
        if rij is None:
            continue
        rijen.remove(rij)
        inv = pow(rij[kolom], P - 2, P)
        rij = {c: f * inv % P for c, f in rij.items()}
        for andere in [*rijen, *spillen]:
            if f := andere.get(kolom):
                for c, g in rij.items():
                    andere[c] = (andere.get(c, 0) - f * g) % P
                    if not andere[c]:
                        del andere[c]
        spillen.append(rij)
    return {next(iter(r)) for r in spillen if len(r) == 1}


@pytest.mark.slow
def test_the_published_figures_give_no_small_count_away(jaar: Jaar) -> None:
    for gemeente in (None, "0014"):
        publicatie = jaar.rapport(*(("--gemeente", gemeente) if gemeente else ()))
        assert jaar.html is not None
        html = jaar.html.read_text()
        drempel = publicatie["drempel"]
        assert drempel == 5  # the default
        waar = jaar.rapport("--drempel", "1", *(("--gemeente", gemeente) if gemeente else ()))
        cellen, vergelijkingen = _cellen(publicatie)
        echt, _ = _cellen(waar)
        assert echt.keys() == cellen.keys()
        for cel, waarde in cellen.items():
            werkelijk = echt[cel]
            assert isinstance(werkelijk, int)
            if isinstance(waarde, int):
                assert waarde == werkelijk and not 0 < waarde < drempel, cel  # shown: true and not small
            else:
                laag, hoog = _grenzen(waarde, drempel)
                assert laag <= werkelijk <= hoog, (cel, waarde, werkelijk)  # "<5": 0 to 4; "x": 5 or more
        for v in vergelijkingen:  # every equation holds for the true counts
            assert sum(f * echt[c] for c, f in v.items()) == 0  # type: ignore[operator]
        onbekend = {c for c, w in cellen.items() if isinstance(w, str)}
        assert onbekend, "a year of a small population has small counts"
        for v in vergelijkingen:
            verborgen = [c for c, f in v.items() if f and c in onbekend]
            assert len(verborgen) != 1, verborgen  # no total, sum or balance with one hidden cell
            for c in verborgen:  # nor one that pins a hidden cell within what a reader knows of the others
                rest = [(f, _grenzen(cellen[d], drempel)) for d, f in v.items() if d != c]
                laag = -sum(f * (g[1] if f > 0 else g[0]) for f, g in rest) / v[c]
                hoog = -sum(f * (g[0] if f > 0 else g[1]) for f, g in rest) / v[c]
                eigen = _grenzen(cellen[c], drempel)
                assert min(max(laag, hoog), eigen[1]) > max(min(laag, hoog), eigen[0]), (c, v)
        assert not _bepaald(vergelijkingen, onbekend)  # no hidden cell follows from the published ones
        # The year report itself: one file, nothing fetched, the same figures, its charts inline.
        assert "<script" not in html and "src=" not in html and "href=" not in html and "@import" not in html
        assert html.count("<svg") == len(publicatie["tabellen"]) + 1 and "&lt;5" in html  # + the stock
        meldingen = publicatie["tabellen"][0]["totaal"]["cellen"]["meldingen"]
        assert f"<td>{meldingen:,}</td>".replace(",", ".") in html
        assert not any(bsn in html for bsn in jaar.sim.actief if not bsn.startswith("vsn:"))
        # the medians: only over a published count of at least the threshold, and then the true one
        for tabel, ware in zip(publicatie["tabellen"], waar["tabellen"], strict=True):
            for rij, ware_rij in zip([*tabel["rijen"], tabel["totaal"]], [*ware["rijen"], ware["totaal"]], strict=True):
                n = rij["cellen"]["eerste_contact"]
                if isinstance(n, int) and n >= drempel:
                    assert rij["mediaanDagen"] == ware_rij["mediaanDagen"]
                else:
                    assert rij["mediaanDagen"] in (None, "x") and (n != 0 or rij["mediaanDagen"] is None)


@pytest.mark.slow
def test_rapport_jaar_as_a_real_process(jaar: Jaar) -> None:
    """The command an operator runs: the same figures as in process, the read logged with the operator,
    and nothing about a youth on its output."""
    in_proces = jaar.rapport("--gemeente", "0193")
    voor = log_size(jaar.env["VIR_DATABASE_URL"])
    html, figuren = jaar.tmp / "proces.html", jaar.tmp / "proces.json"
    r = subprocess.run(
        [sys.executable, "-m", "vir", "rapport", "jaar", str(JAAR), "--gemeente", "0193", "--uit", str(html),
         "--json", str(figuren)],
        env=jaar.env, capture_output=True, text=True, timeout=300, cwd=jaar.tmp, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"wrote the year report {JAAR} to {html}\n" and r.stderr == ""
    assert json.loads(figuren.read_text()) == in_proces
    assert html.read_text().startswith("<!DOCTYPE html>")
    [regel] = log_tail(jaar.env["VIR_DATABASE_URL"], voor)
    assert (regel["soort"], regel["operatie"], regel["actor"]) == ("inzage", "rapport", "t.tester")
    assert json.loads(regel["payload"]) == {"rapport": "jaar", "jaar": JAAR, "gemeente": "0193", "drempel": 5}


def test_the_reader_model_finds_what_a_bridge_gives_away() -> None:
    """The check above is not idle: two 2x2 blocks of hidden cells joined by one hidden cell, every row
    and column with two hidden cells or more, and yet the bridge follows from the equations."""
    bruggen = {("r1", "k1"), ("r1", "k2"), ("r2", "k1"), ("r2", "k2"), ("r2", "k3"), ("r3", "k3"), ("r3", "k4"),
               ("r4", "k3"), ("r4", "k4")}  # fmt: skip
    vergelijkingen = [{c: 1 for c in bruggen if c[0] == r} for r in ("r1", "r2", "r3", "r4")]
    vergelijkingen += [{c: 1 for c in bruggen if c[1] == k} for k in ("k1", "k2", "k3", "k4")]
    assert _bepaald(vergelijkingen, bruggen) == {("r2", "k3")}
    assert not _bepaald(vergelijkingen, bruggen - {("r2", "k3")})  # the bridge shown: two free cycles
