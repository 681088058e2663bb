"""The BRP file: the committed schema, the streaming reader and writer, and the synthetic generator.

Generated files are checked with the real ``xmllint`` against ``schemas/xsd/brp-v1.xsd``, so the
reader, the writer and the schema cannot drift apart. Bad files must fail with the line of the
mistake: the same line xmllint names when the mistake is a schema violation.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from gateway.brp import Adres, Bevolking, BrpBestandFout, Persoon, genereer, lees, schema, schrijf, verhuis
from gateway.brp import bestand as brp_bestand
from gateway.domain.regels import bsn_is_geldig, plus_jaren

PEILDATUM = date(2025, 6, 30)
XSD = Path(__file__).resolve().parent.parent / "schemas" / "xsd" / "brp-v1.xsd"
KOP = '<?xml version="1.0" encoding="UTF-8"?>\n<bevolking xmlns="urn:nl:vir:gateway:brp:v1" peildatum="2025-06-30">'
ADRES = '<adres id="0014200000000001" postcode="9712CP" huisnummer="1" gemeente="0014"/>'


def xmllint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["xmllint", "--noout", "--schema", str(XSD), str(path)], capture_output=True, text=True, check=False
    )


def leeftijd(geboren: date, op: date) -> int:
    return op.year - geboren.year - ((op.month, op.day) < (geboren.month, geboren.day))


@pytest.fixture(scope="module")
def bevolking() -> Bevolking:
    return genereer(10_000, 1, PEILDATUM)


@pytest.fixture(scope="module")
def bestand(bevolking: Bevolking, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("brp") / "bevolking.xml"
    schrijf(bevolking, path)
    return path


# ===== Schema, writer and reader =====


def test_generated_file_is_valid_for_xmllint(bestand: Path) -> None:
    result = xmllint(bestand)
    assert result.returncode == 0, result.stderr[:2000]


def test_schema_is_compiled_once_and_accepts_the_generated_file(bestand: Path) -> None:
    assert schema() is schema()
    doc = etree.parse(str(bestand), etree.XMLParser(resolve_entities=False, no_network=True))
    assert schema().validate(doc), schema().error_log


def test_lees_returns_what_schrijf_wrote(bevolking: Bevolking, bestand: Path) -> None:
    assert lees(bestand) == bevolking


def test_round_trip_of_every_optional_part(tmp_path: Path) -> None:
    thuis = Adres("0363200000000001", "1011AB", 12, "0363")
    azc = Adres("0518200000000002", "2491ZZ", 99999, "0518", instelling=True)
    bevolking = Bevolking(
        PEILDATUM,
        [thuis, azc],
        [
            Persoon("111222333", date(1980, 2, 29), "V", adres=thuis.id),
            Persoon("123456782", date(1975, 1, 1), "M", overlijdensdatum=date(2024, 12, 31), adres=thuis.id),
            Persoon("999999990", date(2010, 5, 17), "O", adres=thuis.id, ouders=("111222333", "123456782")),
            Persoon("100000009", date(2009, 1, 1), "M", adres=azc.id, ouders=("111222333",)),
            Persoon("100000010", date(2012, 3, 4), "V", adres=azc.id),
            Persoon("100000022", date(1960, 7, 8), "V"),  # no known address
        ],
    )
    assert all(bsn_is_geldig(p.bsn) for p in bevolking.personen)
    path = tmp_path / "klein.xml"
    schrijf(bevolking, path)
    assert xmllint(path).returncode == 0
    assert lees(path) == bevolking

    leeg = Bevolking(PEILDATUM)
    schrijf(leeg, path)
    assert xmllint(path).returncode == 0
    assert lees(path) == leeg


def test_one_person_per_element_per_line(tmp_path: Path) -> None:
    path = tmp_path / "b.xml"
    schrijf(genereer(50, 3, PEILDATUM), path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("<bevolking ") and lines[-1] == "</bevolking>"
    assert all(line.count("<") == line.count(">") for line in lines)
    assert sum(line.lstrip().startswith("<persoon ") for line in lines) == 50


# ===== The generator =====


def test_genereer_is_deterministic_per_seed() -> None:
    a = genereer(3000, 5, PEILDATUM)
    assert a == genereer(3000, 5, PEILDATUM)
    b = genereer(3000, 6, PEILDATUM)
    assert a != b
    assert {p.bsn for p in a.personen} != {p.bsn for p in b.personen}


@pytest.mark.parametrize("aantal", [0, 1, 2, 3, 7, 99, 100, 101, 2500])
def test_genereer_makes_exactly_the_number_asked(aantal: int) -> None:
    assert len(genereer(aantal, aantal, PEILDATUM).personen) == aantal


def test_genereer_refuses_impossible_sizes() -> None:
    with pytest.raises(ValueError):
        genereer(-1, 1, PEILDATUM)
    with pytest.raises(ValueError):
        genereer(40_000_000, 1, PEILDATUM)


def test_every_bsn_is_valid_and_every_person_unique(bevolking: Bevolking) -> None:
    bsns = [p.bsn for p in bevolking.personen]
    assert len(set(bsns)) == len(bsns) == 10_000
    assert all(len(b) == 9 and bsn_is_geldig(b) for b in bsns)
    ouders = {o for p in bevolking.personen for o in p.ouders}
    assert all(bsn_is_geldig(o) for o in ouders)
    assert ouders - set(bsns), "some parents live outside the file"
    adres_ids = [a.id for a in bevolking.adressen]
    assert len(set(adres_ids)) == len(adres_ids)
    assert {p.adres for p in bevolking.personen if p.adres} == set(adres_ids), "every address is lived at"


def test_ages_and_deaths_fit_the_peildatum(bevolking: Bevolking) -> None:
    personen = {p.bsn: p for p in bevolking.personen}
    kinderen = [p for p in bevolking.personen if p.ouders]
    assert kinderen
    for kind in kinderen:
        assert kind.geboortedatum <= PEILDATUM < plus_jaren(kind.geboortedatum, 23)
        for ouder in (personen[o] for o in kind.ouders if o in personen):
            assert 25 <= leeftijd(ouder.geboortedatum, PEILDATUM) <= 60
            assert ouder.overlijdensdatum is None or ouder.overlijdensdatum >= kind.geboortedatum
    overleden = [p for p in bevolking.personen if p.overlijdensdatum]
    assert 10 <= len(overleden) <= 300
    assert all(p.geboortedatum <= p.overlijdensdatum < PEILDATUM for p in overleden if p.overlijdensdatum)
    assert any(p.adres is None for p in bevolking.personen)


def test_households_give_every_kind_of_family_match(bevolking: Bevolking) -> None:
    adressen = {a.id: a for a in bevolking.adressen}
    per_ouder: dict[str, list[Persoon]] = defaultdict(list)
    for p in bevolking.personen:
        for o in p.ouders:
            per_ouder[o].append(p)

    def thuis(p: Persoon) -> bool:
        return p.adres is not None and not adressen[p.adres].instelling

    paren = [(a, b) for kinderen in per_ouder.values() for a in kinderen for b in kinderen if a.bsn < b.bsn]
    samen = [(a, b) for a, b in paren if thuis(a) and a.adres == b.adres]
    alleen_ouder = [(a, b) for a, b in paren if thuis(a) and thuis(b) and a.adres != b.adres]
    assert len(samen) > 500, "siblings sharing parents and a home"
    assert len(alleen_ouder) > 50, "siblings of divorced parents: a parent in common, no address"
    assert any(set(a.ouders) == set(b.ouders) and len(a.ouders) == 2 for a, b in samen)


def test_institutions_house_unrelated_children(bevolking: Bevolking) -> None:
    personen = {p.bsn: p for p in bevolking.personen}
    instellingen = [a for a in bevolking.adressen if a.instelling]
    assert len(instellingen) == 5
    zonder_ouders = 0
    for instelling in instellingen:
        bewoners = [p for p in bevolking.personen if p.adres == instelling.id]
        assert 5 <= len(bewoners) <= 20
        assert all(leeftijd(p.geboortedatum, PEILDATUM) < 23 for p in bewoners)
        ouders = [o for p in bewoners for o in p.ouders]
        assert len(ouders) == len(set(ouders)), "no two residents share a parent"
        assert all(personen[o].adres != instelling.id for o in ouders if o in personen)
        assert any(p.ouders for p in bewoners)
        zonder_ouders += sum(not p.ouders for p in bewoners)
    assert zonder_ouders > 0


def test_verhuis_moves_one_person_and_keeps_the_original(tmp_path: Path) -> None:
    bevolking = genereer(300, 9, PEILDATUM)
    kind = next(p for p in bevolking.personen if p.ouders and p.adres)
    nieuw = Adres("0014209999999999", "9712CP", 3, "0014")
    later = date(2025, 7, 31)
    verhuisd = verhuis(bevolking, kind.bsn, nieuw, peildatum=later)

    assert verhuisd.peildatum == later
    assert verhuisd.adressen == [*bevolking.adressen, nieuw]
    moved = {p.bsn: p for p in verhuisd.personen}
    assert moved[kind.bsn] == replace(kind, adres=nieuw.id)
    assert [p for p in verhuisd.personen if p.bsn != kind.bsn] == [p for p in bevolking.personen if p != kind]
    assert kind in bevolking.personen and nieuw not in bevolking.adressen

    terug = verhuis(verhuisd, kind.bsn, next(a for a in bevolking.adressen if a.id == kind.adres))
    assert terug.adressen == verhuisd.adressen and terug.peildatum == later
    path = tmp_path / "verhuisd.xml"
    schrijf(verhuisd, path)
    assert lees(path) == verhuisd

    with pytest.raises(KeyError):
        verhuis(bevolking, "111222333", nieuw)
    with pytest.raises(ValueError, match="other data"):
        verhuis(verhuisd, kind.bsn, replace(nieuw, huisnummer=4))


# ===== Bad files =====


def bestand_met(tmp_path: Path, *regels: str, kop: str = KOP) -> Path:
    """A file of ``kop`` (two lines), then one line per ``regels`` (from line 3), then the end tag."""
    path = tmp_path / "fout.xml"
    path.write_text("\n".join([kop, *regels, "</bevolking>"]) + "\n", encoding="utf-8")
    return path


def persoon(bsn: str = "111222333", extra: str = "", ouders: tuple[str, ...] = ()) -> str:
    kinderen = "".join(f'<ouder bsn="{o}"/>' for o in ouders)
    return f'<persoon bsn="{bsn}" geboortedatum="2010-01-01" geslacht="M"{extra}>{kinderen}</persoon>'


SCHEMAFOUTEN = {
    "unknown adres reference": (
        [ADRES, persoon("111222333", ' adres="0014200000000001"'), persoon("123456782", ' adres="0014200000000009"')],
        5,
        ["123456782", "0014200000000009", "not in the file"],
    ),
    "duplicate bsn": (
        [persoon("111222333"), persoon("123456782"), persoon("111222333")],
        5,
        ["111222333", "occurs twice", "first on line 3"],
    ),
    "duplicate adres id": ([ADRES, ADRES], 4, ["0014200000000001", "occurs twice", "first on line 3"]),
    "bad postcode": ([ADRES.replace("9712CP", "0712CP")], 3, ["Element 'adres', attribute 'postcode'", "0712CP"]),
    "adres after persoon": ([persoon(), ADRES], 4, ["Element 'adres'", "not expected"]),
    "three ouders": ([persoon(ouders=("123456782", "999999990", "100000009"))], 3, ["Element 'ouder'", "not expected"]),
    "a name": ([persoon(extra=' naam="Jansen"')], 3, ["attribute 'naam' is not allowed"]),
    "unknown geslacht": ([ADRES, persoon().replace('"M"', '"X"')], 4, ["geslacht", "'X'"]),
    "impossible date": ([persoon().replace("2010-01-01", "2010-02-30")], 3, ["geboortedatum", "2010-02-30"]),
    "date with time zone": ([persoon().replace("2010-01-01", "2010-01-01Z")], 3, ["geboortedatum", "2010-01-01Z"]),
    "text between elements": ([ADRES, "Jansen", persoon()], 2, ["bevolking", "Character content"]),
    "not well-formed": ([ADRES, persoon().replace("</persoon>", "")], 5, ["not well-formed", "persoon"]),
}


@pytest.mark.parametrize("naam", list(SCHEMAFOUTEN))
def test_schema_violations_name_the_line_xmllint_names(tmp_path: Path, naam: str) -> None:
    regels, regel, woorden = SCHEMAFOUTEN[naam]
    path = bestand_met(tmp_path, *regels)
    with pytest.raises(BrpBestandFout) as info:
        lees(path)
    assert info.value.regel == regel
    assert str(info.value).startswith(f"{path}, line {regel}: ")
    for woord in woorden:
        assert woord in str(info.value)
    assert "urn:nl:vir:gateway:brp:v1" not in str(info.value)
    lint = xmllint(path)
    assert lint.returncode != 0
    first = re.search(rf"{re.escape(str(path))}:(\d+):", lint.stderr)
    assert first is not None and int(first.group(1)) == regel, lint.stderr


REGELFOUTEN = {
    "bad check digit": ([persoon("111222334")], 3, ["111222334", "eleven-test"]),
    "ouder with bad check digit": ([persoon(ouders=("123456783",))], 3, ["ouder bsn 123456783", "eleven-test"]),
    "own ouder": ([persoon(ouders=("111222333",))], 3, ["its own ouder"]),
    "same ouder twice": ([persoon(ouders=("123456782", "123456782"))], 3, ["ouder 123456782 twice"]),
    "born after peildatum": ([persoon().replace("2010-01-01", "2025-07-01")], 3, ["born after the peildatum"]),
    "died before birth": ([persoon(extra=' overlijdensdatum="2009-12-31"')], 3, ["overlijdensdatum 2009-12-31"]),
    "died after peildatum": ([persoon(extra=' overlijdensdatum="2025-07-01"')], 3, ["overlijdensdatum 2025-07-01"]),
}


@pytest.mark.parametrize("naam", list(REGELFOUTEN))
def test_rules_beyond_the_schema_name_the_line(tmp_path: Path, naam: str) -> None:
    regels, regel, woorden = REGELFOUTEN[naam]
    path = bestand_met(tmp_path, *regels)
    assert xmllint(path).returncode == 0, "valid for the schema, wrong for the register"
    with pytest.raises(BrpBestandFout) as info:
        lees(path)
    assert info.value.regel == regel
    for woord in woorden:
        assert woord in str(info.value)


def test_the_first_mistake_in_the_file_is_reported(tmp_path: Path) -> None:
    elfproef, schemafout = persoon("111222334"), persoon("123456782").replace('"M"', '"X"')
    with pytest.raises(BrpBestandFout, match="line 3: persoon bsn 111222334"):
        lees(bestand_met(tmp_path, elfproef, schemafout))
    with pytest.raises(BrpBestandFout, match="line 3: Element 'persoon', attribute 'geslacht'"):
        lees(bestand_met(tmp_path, schemafout, elfproef))


def test_a_doctype_with_entities_is_refused(tmp_path: Path) -> None:
    kop = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE bevolking [<!ENTITY a "111222333"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
        '<bevolking xmlns="urn:nl:vir:gateway:brp:v1" peildatum="2025-06-30">'
    )
    with pytest.raises(BrpBestandFout, match="line 2: a DOCTYPE or entity declaration is not allowed"):
        lees(bestand_met(tmp_path, persoon("&b;"), kop=kop))
    # Also when a long comment pushes it past the bytes looked at before parsing.
    lang = kop.replace("\n<!DOCTYPE", f"\n<!-- {'x' * 5000} -->\n<!DOCTYPE")
    with pytest.raises(BrpBestandFout, match="DOCTYPE or entity declaration is not allowed"):
        lees(bestand_met(tmp_path, persoon("&b;"), kop=lang))


def test_processing_instructions_and_other_roots_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BrpBestandFout, match="line 3: processing instructions are not allowed"):
        lees(bestand_met(tmp_path, '<?stylesheet href="x"?>', persoon()))
    with pytest.raises(BrpBestandFout, match=r"line 2: .*bevolking.*peildatum.*required"):
        lees(bestand_met(tmp_path, persoon(), kop=KOP.replace(' peildatum="2025-06-30"', "")))
    verkeerd = tmp_path / "ander.xml"
    verkeerd.write_text('<?xml version="1.0"?>\n<personen/>\n', encoding="utf-8")
    with pytest.raises(BrpBestandFout, match=r"line 2: .*validation root"):
        lees(verkeerd)
    leeg = tmp_path / "leeg.xml"
    leeg.write_bytes(b"")
    with pytest.raises(BrpBestandFout, match="not well-formed"):
        lees(leeg)


def test_mistakes_deep_in_a_large_file_name_their_line(bestand: Path, tmp_path: Path) -> None:
    """Far past the first piece the reader validates, checks across the whole file still hold."""
    lines = bestand.read_text(encoding="utf-8").splitlines()
    personen = [i for i, line in enumerate(lines) if line.startswith("  <persoon ")]
    eerste, laatste = personen[0], personen[-1]
    assert laatste > 20_000

    def met(vervanging: dict[int, str]) -> Path:
        path = tmp_path / "groot.xml"
        path.write_text("\n".join(vervanging.get(i, line) for i, line in enumerate(lines)) + "\n", encoding="utf-8")
        return path

    bsn = re.search(r'bsn="(\d{9})"', lines[eerste])
    assert bsn is not None
    dubbel = re.sub(r'bsn="\d{9}"', f'bsn="{bsn.group(1)}"', lines[laatste], count=1)
    with pytest.raises(BrpBestandFout, match=rf"line {laatste + 1}: .*first on line {eerste + 1}"):
        lees(met({laatste: dubbel}))

    met_adres = next(i for i in reversed(personen) if ' adres="' in lines[i])
    onbekend = re.sub(r'adres="\d{16}"', 'adres="9999209999999999"', lines[met_adres])
    with pytest.raises(BrpBestandFout, match=rf"line {met_adres + 1}: .*9999209999999999, which is not in the file"):
        lees(met({met_adres: onbekend}))

    # An adres that opens a piece of its own, after pieces of persons: the order is checked across pieces.
    kinderen = [i for i, line in enumerate(lines) if line.startswith(("  <adres ", "  <persoon "))]
    stuk = next(n for n in range(0, len(kinderen), brp_bestand._STUK) if n > len(kinderen) - len(personen))
    plek = kinderen[stuk]
    achteraan = "  " + ADRES.replace("0014200000000001", "0014209999999999")
    with pytest.raises(BrpBestandFout, match=rf"line {plek + 1}: .*before the first persoon \(line {eerste + 1}\)"):
        lees(met({plek: achteraan + "\n" + lines[plek]}))

    geslacht = re.sub(r'geslacht="\w"', 'geslacht="X"', lines[laatste])
    with pytest.raises(BrpBestandFout, match=rf"line {laatste + 1}: Element 'persoon', attribute 'geslacht'"):
        lees(met({laatste: geslacht}))
