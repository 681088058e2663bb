"""The publishable figures (gateway/domain/cijfers.py) on hand-made counts, and ``vir-gateway rapport
cijfers`` on a small index: periods collapsed where nothing happened, the stock carried across them,
a municipality's own figures, medians only over enough matches, and the CSV, JSON, SVG and PNG with
their suppressed cells. The year on a generated population is in tests/test_jaarrapport.py."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from gateway.domain.cijfers import Gebeurtenis, Stand, publiceer
from gateway.domain.jongere import Jongere
from gateway.domain.model import Meldingsbevoegde
from gateway.domain.regels import Regels
from gateway.index import Verwijsindex
from store.db import Database
from store.migrate import upgrade
from store.repository import Repository
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support import A, B, bsn, log_size, log_tail, run_cli

NOORD = ("00000001111111111000", "Jeugdzorg Noord", "jeugdzorg", "0014")


def _g(dag: date, soort: str, gemeente: str | None = "0014", waarde: int | None = None) -> Gebeurtenis:
    oin, naam, sector, _ = NOORD
    return Gebeurtenis(datetime.combine(dag, datetime.min.time(), UTC) + timedelta(hours=9), oin, naam, sector,
                       gemeente, soort, waarde)  # fmt: skip


def test_days_without_events_collapse_and_the_stock_carries_over() -> None:
    d = date(2026, 3, 1)
    gebeurtenissen = [_g(d, "meldingen"), _g(d, "meldingen"), _g(d + timedelta(days=9), "e-risico")]
    p = publiceer(gebeurtenissen, [Stand(NOORD[0], NOORD[1], NOORD[2], "0014", 7)], d, d + timedelta(days=13),
                  per="dag", drempel=1)  # fmt: skip
    [tabel] = p.tabellen
    assert [(r.label, r.eerste, r.laatste) for r in tabel.rijen] == [
        ("2026-03-01", d, d),
        ("2026-03-02 t/m 2026-03-09", d + timedelta(days=1), d + timedelta(days=8)),
        ("2026-03-10", d + timedelta(days=9), d + timedelta(days=9)),
        ("2026-03-11 t/m 2026-03-14", d + timedelta(days=10), d + timedelta(days=13)),
    ]
    standen = [(r.cellen["stand_begin"], r.cellen["stand_eind"]) for r in tabel.rijen]
    assert standen == [(7, 9), (9, 9), (9, 8), (8, 8)]
    assert [r.cellen["meldingen"] for r in tabel.rijen] == [2, 0, 0, 0]
    assert tabel.totaal.cellen | {} == {**tabel.totaal.cellen, "stand_begin": 7, "meldingen": 2, "beeindigd": 1,
                                        "risicoWeggenomen": 1, "stand_eind": 8}  # fmt: skip


def test_a_municipality_sees_its_own_counts_and_medians_need_enough_matches() -> None:
    d = date(2026, 1, 5)
    gebeurtenissen = [_g(d, "meldingen") for _ in range(12)] + [_g(d, "meldingen", "0193") for _ in range(3)]
    gebeurtenissen += [_g(d + timedelta(days=i), "afstemmingen", waarde=i) for i in range(1, 7)]
    gebeurtenissen += [_g(d, "afstemmingen", waarde=None), _g(d, "afstemmingen", "0193", waarde=30)]
    p = publiceer(gebeurtenissen, [], date(2026, 1, 1), date(2026, 12, 31), per="kwartaal",
                  indelingen=("periode", "gemeente"), gemeente="0014")  # fmt: skip
    periode, gemeente = p.tabellen
    assert [r.sleutel for r in gemeente.rijen] == ["0014"]
    assert periode.totaal.cellen["meldingen"] == 12 and periode.totaal.cellen["afstemmingen"] == 7
    assert periode.totaal.cellen["eerste_contact"] == 6 and periode.totaal.mediaan_dagen == 3.5
    # the other municipality's single first contact: its median is not published, and its count is "<5"
    p = publiceer(gebeurtenissen, [], date(2026, 1, 1), date(2026, 12, 31), indelingen=("gemeente",))
    [tabel] = p.tabellen
    andere = next(r for r in tabel.rijen if r.sleutel == "0193")
    assert andere.cellen["eerste_contact"] == "<5" and andere.mediaan_dagen == "x"
    assert andere.cellen["meldingen"] in ("<5", "x") and tabel.totaal.cellen["meldingen"] == 15
    with pytest.raises(ValueError, match="threshold"):
        publiceer([], [], date(2026, 1, 1), date(2026, 1, 2), drempel=0)


# --- vir-gateway rapport cijfers on a small index ---------------------------------------------------------------


@dataclass
class Index:
    db: Database
    env: dict[str, str]
    tmp: Path


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Index]:
    url = create_pg_database() if request.param == "postgresql" else f"sqlite:///{tmp_path / 'vir.sqlite3'}"
    env = {**os.environ, "VIR_DATA_DIR": str(tmp_path / "data"), "VIR_DATABASE_URL": url, "VIR_OPERATOR": "g.ambtenaar"}
    for oin, naam, gemeente, sector in ((A, "Jeugdzorg Noord", "0014", "jeugdzorg"), (B, "GGD", "0193", "zorg")):
        assert run_cli("instantie", "add", "--oin", oin, "--naam", naam, env=env).returncode == 0
        r = run_cli("instantie", "profiel", oin, "--gemeente", gemeente, "--sector", sector, env=env)
        assert r.returncode == 0, r.stderr
    db = Database(url)
    upgrade(db)
    yield Index(db, env, tmp_path)
    db.dispose()
    if request.param == "postgresql":
        drop_pg_database(url)


def _afgeven(db: Database, nu: datetime, oin: str, jongere: str) -> None:
    with db.transaction() as s:
        repo = Repository(s)
        index = Verwijsindex(repo, Regels(), nu)
        index.afgeven(repo.instantie(oin), Jongere.met_bsn(jongere, None), Meldingsbevoegde("P. Arts"), None, "ECD")
        index.afronden()


def test_rapport_cijfers_writes_csv_json_svg_and_png_with_suppressed_cells(index: Index) -> None:
    begin = datetime(2026, 2, 2, 9, tzinfo=UTC)
    for i in range(9):  # A files nine, B two: B's counts are small, and no population register is loaded
        _afgeven(index.db, begin + timedelta(days=i % 3, minutes=i), A, bsn())
    for i in range(2):
        _afgeven(index.db, begin + timedelta(days=20, minutes=i), B, bsn())
    voor = log_size(index.env["VIR_DATABASE_URL"])
    uit = {k: index.tmp / f"cijfers.{k}" for k in ("csv", "json", "svg", "png")}
    bestanden = [a for k, pad in uit.items() for a in (f"--{k}", str(pad))]
    r = run_cli("rapport", "cijfers", "--van", "2026-02-01", "--tot", "2026-02-28", "--per", "dag", "--naar", "periode",
                "--naar", "gemeente", *bestanden, env=index.env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    publicatie = json.loads(uit["json"].read_text())
    periode, gemeente = publicatie["tabellen"]
    # 1 February, the three filing days, then nothing until B's day, then nothing to the end
    assert [r["label"] for r in periode["rijen"]] == ["2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04",
        "2026-02-05 t/m 2026-02-21", "2026-02-22", "2026-02-23 t/m 2026-02-28"]  # fmt: skip
    # B's two are "<5"; A's nine are hidden too, or the total (11) would give B's away
    assert {r["sleutel"]: r["cellen"]["meldingen"] for r in gemeente["rijen"]} == {"0014": "x", "0193": "<5"}
    totaal = gemeente["totaal"]["cellen"]["meldingen"]
    assert totaal in (11, "x")  # the same cell as the period table's total, hidden there or not
    with uit["csv"].open(newline="", encoding="utf-8") as f:
        regels = list(csv.DictReader(f))
    assert {(r["tabel"], r["sleutel"], r["meldingen"]) for r in regels if r["tabel"] == "gemeente"} == {
        ("gemeente", "0014", "x"), ("gemeente", "0193", "<5"), ("gemeente", "totaal", str(totaal))}  # fmt: skip
    assert not any(0 < int(w) < 5 for r in regels for k, w in r.items() if k not in ("tabel", "sleutel", "label", "van",
                   "tot", "mediaan_dagen") and w.isdigit())  # fmt: skip
    svg = etree.fromstring(uit["svg"].read_bytes())
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert uit["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    [regel] = [e for e in log_tail(index.env["VIR_DATABASE_URL"], voor) if e["operatie"] == "rapport"]
    assert (regel["soort"], regel["actor"]) == ("inzage", "g.ambtenaar")
    assert json.loads(regel["payload"])["rapport"] == "cijfers"
    # without --csv or --json the CSV goes to standard output; a bad municipality code is a usage error
    r = run_cli("rapport", "cijfers", "--van", "2026-02-01", "--tot", "2026-02-28", env=index.env)
    assert r.returncode == 0 and next(csv.reader(io.StringIO(r.stdout)))[:3] == ["tabel", "sleutel", "label"]
    assert run_cli("rapport", "cijfers", "--gemeente", "14", env=index.env).returncode == 2
