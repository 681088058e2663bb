"""Need-to-know across the federation, through real gateway processes and workers on loopback (the local
federation of ``vir-gateway federatie demo``): a node holds another system's melding only while it holds one on
the same youth itself, youths cross the border only as keyed pseudonyms, and a withdrawn melding leaves nothing
naming its filer behind (docs/federation.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from federation.demo import Knooppunt
from gateway.domain.jongere import pseudoniem
from gateway.domain.sleutelring import Sleutelring
from tests.support import bsn
from tests.test_federation import cli, converge, db_url, file, hub, matches, mesh, service, signals, stuur

__all__ = ["hub", "mesh"]  # fixtures


def psn(node: Knooppunt, youth: str) -> str:
    ring = Sleutelring.lees(Path(node.sleutels["VIR_FEDERATIE_SLEUTEL"]).read_text())
    return pseudoniem(f"bsn:{youth}", ring)


def in_bestanden(node: Knooppunt, *naalden: str) -> list[str]:
    """The needles found anywhere in the node's database files: every table, the message log, free pages."""
    pad = Path(db_url(node).removeprefix("sqlite:///"))
    inhoud = b"".join(p.read_bytes() for p in (pad, Path(f"{pad}-wal")) if p.exists())
    return [n for n in naalden if n.encode() in inhoud]


def in_tabellen(node: Knooppunt, *naalden: str, behalve: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(table, needle) for every needle found in a column of a table (text or bytes), the tables ``behalve`` not."""
    engine = create_engine(db_url(node))
    gevonden = []
    try:
        with engine.connect() as conn:
            for tabel in inspect(conn).get_table_names():
                if tabel in behalve:
                    continue
                for rij in conn.execute(text(f"SELECT * FROM {tabel}")):
                    waarden = " ".join(
                        v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in rij if v is not None
                    )
                    gevonden += [(tabel, n) for n in naalden if n in waarden]
    finally:
        engine.dispose()
    return sorted(set(gevonden))


def wacht_op(voorwaarde: Any, timeout: float = 60) -> float:
    start = time.monotonic()
    while not voorwaarde():
        assert time.monotonic() - start < timeout, "not within the time allowed"
        time.sleep(0.1)
    return time.monotonic() - start


FILER = {"naam": "Anna Filerstra", "telefoon": "06-11112222", "email": "anna.filerstra@example.org"}


@pytest.mark.slow
def test_hub_a_melding_reaches_only_the_nodes_that_hold_one_on_the_youth(hub: list[Knooppunt]) -> None:
    a, zvj, c, vis2, lvi = hub  # MULTISIGNAAL, ZVJ, MOP, VIS2 and the hub LVI
    youth = bsn()
    p = psn(a, youth)
    ma = service(a).MeldingAfgeven(
        stuurgegevens=stuur(a, a.instanties()[0]), jongere={"bsn": youth}, meldingsbevoegde=FILER
    )
    converge(hub)
    # The hub holds it (by pseudonym only); no regional node that has nothing on the youth holds a trace of it,
    # in any table or the message log.
    assert in_bestanden(lvi, youth) == [] and in_tabellen(lvi, p, FILER["naam"]) != []
    for n in (zvj, c, vis2):
        assert in_bestanden(n, youth, p, FILER["naam"], FILER["telefoon"]) == [], n.systeem

    # A second system files on the youth: both get the match within seconds.
    mc = file(c, 1, youth, "Carla")
    binnen = wacht_op(lambda: matches(a, 0, ma.meldingId) and matches(c, 1, mc.meldingId))
    print(f"hub: the cross-system match shows on both nodes {binnen:.2f} s after the filing was answered")
    assert [p.meldingsbevoegde.naam for p in matches(c, 1, mc.meldingId)[0].partij] == [FILER["naam"]]
    assert [p.meldingsbevoegde.naam for p in matches(a, 0, ma.meldingId)[0].partij] == ["Carla"]
    assert binnen < 20
    converge(hub)
    for n in (zvj, vis2):
        assert in_bestanden(n, youth, p, FILER["naam"], "Carla") == [], n.systeem

    # The first withdraws as onterecht; once the second has run its retention it holds nothing naming the
    # first's filer (professional or organisation) outside the signed log.
    service(a).MeldingBeeindigen(stuurgegevens=stuur(a, a.instanties()[0]), meldingId=ma.meldingId, reden="onterecht")
    converge(hub)
    wacht_op(lambda: not matches(c, 1, mc.meldingId))
    assert [s.soort for s in signals(c, 1) if s.meldingId == mc.meldingId] == ["nieuweMatch", "beeindigdeMatch"]
    r = cli(c, "onderhoud")
    assert r.returncode == 0, r.stderr
    naam_org = f"{a.systeem} instantie 1"
    assert in_tabellen(c, *FILER.values(), a.instanties()[0], naam_org, behalve=("logregel",)) == []
    # What the second's partner was told stays: the match arose and ended, without the first's card.
    assert [s.soort for s in signals(c, 1) if s.meldingId == mc.meldingId] == ["nieuweMatch", "beeindigdeMatch"]
    assert all(not s.match.partij for s in signals(c, 1) if s.meldingId == mc.meldingId)
    for n in (zvj, vis2):
        assert in_bestanden(n, youth, p, FILER["naam"]) == [], n.systeem


@pytest.mark.slow
def test_mesh_no_node_but_the_filers_holds_the_bsn(mesh: list[Knooppunt]) -> None:
    a, b, c, d = mesh
    alleen_a, gedeeld = bsn(), bsn()
    file(a, 0, alleen_a, FILER["naam"])
    ma = file(a, 1, gedeeld, "Bert")
    converge(mesh)
    mc = file(c, 2, gedeeld, "Carla")
    wacht_op(lambda: matches(a, 1, ma.meldingId) and matches(c, 2, mc.meldingId))
    converge(mesh)
    # Announcements carry the pseudonym only; the cards went between A and C alone.
    for n in (b, c, d):
        assert in_bestanden(n, alleen_a, FILER["naam"]) == [], n.systeem
    for n in (b, d):
        assert in_bestanden(n, gedeeld, "Bert", "Carla") == [], n.systeem
        assert in_tabellen(n, psn(a, alleen_a), psn(a, gedeeld), behalve=("logregel",)) == [], n.systeem
    assert in_bestanden(c, gedeeld) == [gedeeld]  # C's own filing
    assert [p.meldingsbevoegde.naam for p in matches(c, 2, mc.meldingId)[0].partij] == ["Bert"]


def _regie_op_hub(hub_node: Knooppunt, p: str) -> tuple[str | None, Any]:
    engine = create_engine(db_url(hub_node))
    try:
        with engine.connect() as conn:
            rij = conn.execute(
                text(
                    "SELECT i.oin, (SELECT max(af.datum) FROM afstemming af WHERE af.match_id = m.id) "
                    "FROM match m JOIN jongere j ON j.id = m.jongere_id "
                    "LEFT JOIN instantie i ON i.id = m.regievoerder_id "
                    "WHERE j.pseudoniem = :p AND m.status = 'actief' AND m.soort = 'clientmatch'"
                ),
                {"p": p},
            ).one()
    finally:
        engine.dispose()
    return rij[0], rij[1]


@pytest.mark.slow
def test_hub_one_coordinator_per_match_and_the_latest_contact_everywhere(hub: list[Knooppunt]) -> None:
    a, _, c, _, lvi = hub
    for n, i in ((a, 0), (c, 1), (c, 2)):
        assert cli(n, "instantie", "profiel", n.instanties()[i], "--regievoerder").returncode == 0
    youth = bsn()
    ma, mc = file(a, 0, youth, "Anna"), file(c, 1, youth, "Carla")
    wacht_op(lambda: matches(a, 0, ma.meldingId) and matches(c, 1, mc.meldingId))

    def beeld(n: Knooppunt, i: int, melding_id: str) -> Any:
        return matches(n, i, melding_id)[0]

    # A's partner names C's party as coordinator: every node shows it, the hub included.
    service(a).RegievoerderVastleggen(
        stuurgegevens=stuur(a, a.instanties()[0]), matchId=beeld(a, 0, ma.meldingId).matchId,
        regievoerder=c.instanties()[1],
    )  # fmt: skip
    wacht_op(lambda: beeld(c, 1, mc.meldingId).regievoerder == c.instanties()[1])
    assert [s.soort for s in signals(c, 1) if s.meldingId == mc.meldingId][-1] == "gewijzigdeMatch"
    wacht_op(lambda: _regie_op_hub(lvi, psn(a, youth))[0] == c.instanties()[1])

    # A contact recorded in C shows in A and on the hub.
    datum = time.strftime("%Y-%m-%d")
    service(c).AfstemmingVastleggen(
        stuurgegevens=stuur(c, c.instanties()[1]), matchId=beeld(c, 1, mc.meldingId).matchId, datum=datum
    )
    wacht_op(lambda: str(beeld(a, 0, ma.meldingId).laatsteAfstemming) == datum)
    wacht_op(lambda: str(_regie_op_hub(lvi, psn(a, youth))[1]) == datum)

    # Two systems choose at once, each its own party, before hearing of the other: the later choice is the
    # coordinator on every node (at the same instant it would be the system whose code sorts last).
    mc2 = file(c, 2, youth, "Cees")
    converge(hub)
    service(a).RegievoerderVastleggen(
        stuurgegevens=stuur(a, a.instanties()[0]), matchId=beeld(a, 0, ma.meldingId).matchId,
        regievoerder=a.instanties()[0],
    )  # fmt: skip
    service(c).RegievoerderVastleggen(
        stuurgegevens=stuur(c, c.instanties()[2]), matchId=beeld(c, 2, mc2.meldingId).matchId,
        regievoerder=c.instanties()[2],
    )  # fmt: skip
    converge(hub)
    laatste = c.instanties()[2]
    assert beeld(a, 0, ma.meldingId).regievoerder == laatste
    assert beeld(c, 1, mc.meldingId).regievoerder == laatste
    assert beeld(c, 2, mc2.meldingId).regievoerder == laatste
    assert _regie_op_hub(lvi, psn(a, youth))[0] == laatste
    assert str(beeld(a, 0, ma.meldingId).laatsteAfstemming) == datum


@pytest.mark.slow
def test_hub_a_sibling_filed_in_another_system_gives_a_family_match_with_cards_only(
    hub: list[Knooppunt], tmp_path: Path
) -> None:
    """The hub holds the population register: it relates youths other systems name by pseudonym, and each
    regional node of a party gets the family match with the other's contact card, nothing of the sibling."""
    from datetime import date

    from gateway.brp.bestand import Adres, Bevolking, Persoon, schrijf

    a, _, c, _, lvi = hub
    ouder, kind1, kind2 = bsn(), bsn(), bsn()
    register = Bevolking(
        date.today(),
        [Adres("0363010000000001", "1234AB", 1, "0363"), Adres("0363010000000002", "1234AB", 2, "0363")],
        [
            Persoon(ouder, date(1985, 1, 1), "V", adres="0363010000000001"),
            Persoon(kind1, date(2014, 5, 1), "M", adres="0363010000000001", ouders=(ouder,)),
            Persoon(kind2, date(2016, 6, 1), "V", adres="0363010000000002", ouders=(ouder,)),  # the other parent's home
        ],
    )
    schrijf(register, tmp_path / "brp.txt")
    r = cli(lvi, "brp", "load", str(tmp_path / "brp.txt"))
    assert r.returncode == 0, r.stderr
    ma, mc = file(a, 0, kind1, "Anna"), file(c, 1, kind2, "Carla")

    def gezin(n: Knooppunt, i: int, melding_id: str) -> list[Any]:
        return [m for m in matches(n, i, melding_id) if m.soort == "gezinsmatch"]

    binnen = wacht_op(lambda: gezin(a, 0, ma.meldingId) and gezin(c, 1, mc.meldingId))
    print(f"hub: the family match across systems shows on both nodes {binnen:.2f} s after the second filing")
    [ga], [gc] = gezin(a, 0, ma.meldingId), gezin(c, 1, mc.meldingId)
    assert [(p.meldingsbevoegde.naam, p.bronsysteem.split("/")[0]) for p in ga.partij] == [("Carla", c.systeem)]
    assert [(p.meldingsbevoegde.naam, p.bronsysteem.split("/")[0]) for p in gc.partij] == [("Anna", a.systeem)]
    assert [(s.soort, s.match.soort) for s in signals(a, 0) if s.meldingId == ma.meldingId] == [
        ("nieuweMatch", "gezinsmatch")
    ]
    converge(hub)
    # Contact cards only: neither regional node holds anything of the other's youth.
    assert in_bestanden(a, kind2, psn(a, kind2), ouder) == []
    assert in_bestanden(c, kind1, psn(a, kind1), ouder) == []

    # The sibling's melding ends: the family match ends on the other side too.
    service(c).MeldingBeeindigen(stuurgegevens=stuur(c, c.instanties()[1]), meldingId=mc.meldingId, reden="onterecht")
    wacht_op(lambda: not gezin(a, 0, ma.meldingId))
    assert [(s.soort, s.match.soort) for s in signals(a, 0) if s.meldingId == ma.meldingId][-1] == (
        "beeindigdeMatch",
        "gezinsmatch",
    )


@pytest.mark.slow
def test_a_copy_expires_like_ours_and_goes_when_our_last_melding_on_the_youth_ends(tmp_path: Path) -> None:
    """Another system's melding straight to one node (its peers not running): it expires at its planned end
    date by the retention run and leaves a tombstone; a copy also goes, without one, when the node's own last
    melding on the youth ends (need-to-know)."""
    import uuid
    from datetime import UTC, date, datetime, timedelta

    import zeep

    from tests.support import federatie
    from tests.test_federation import free_ports

    nodes = federatie(tmp_path, free_ports(4))
    node, peer = nodes[0], nodes[1]
    node.start()
    try:
        fed = zeep.Client(str(Path(__file__).parent.parent / "wsdl" / "federatie.wsdl")).create_service(
            "{urn:nl:vir:gateway:federatie:v1}FederatieSoap11Binding", f"{node.url}/v1/federatie"
        )
        youth = bsn()
        local = file(node, 0, youth, "Anna")

        def send(melding_id: str, einde: date, versie: int = 1) -> bool:
            return bool(
                fed.MeldingDoorgeven(
                    stuurgegevens=stuur(node, peer.oin),
                    afzender=peer.systeem,
                    bron={"systeem": peer.systeem, "meldingId": melding_id, "versie": versie},
                    jongere=psn(node, youth),
                    contactkaart={
                        "instantie": {"oin": peer.instanties()[0], "naam": "ZVJ instantie 1"},
                        "meldingsbevoegde": {"naam": "Bert Kopie"},
                        "bronsysteem": "ECD",
                    },
                    geplandeEinddatum=einde,
                ).verwerkt
            )

        def kopieen() -> list[Any]:
            engine = create_engine(db_url(node))
            try:
                with engine.connect() as conn:
                    return list(
                        conn.execute(text("SELECT bron_melding_id FROM melding WHERE bron_systeem IS NOT NULL"))
                    )
            finally:
                engine.dispose()

        # Its planned end two days ahead, and the retention run three days ahead (``onderhoud --nu``): the node's
        # worker, which also runs retention once at its start, may run it at any moment without taking it first.
        verloopt, einde = str(uuid.uuid4()), date.today() + timedelta(days=2)
        later = datetime.combine(date.today() + timedelta(days=3), datetime.min.time(), UTC).isoformat()
        assert send(verloopt, einde)
        assert [p.meldingsbevoegde.naam for p in matches(node, 0, local.meldingId)[0].partij] == ["Bert Kopie"]
        assert cli(node, "onderhoud", "--nu", later).returncode == 0
        assert kopieen() == [] and matches(node, 0, local.meldingId) == []
        assert not send(verloopt, einde)  # the tombstone keeps it out
        assert send(verloopt, date.today() + timedelta(days=30), versie=2)  # a newer version (extended) comes in

        service(node).MeldingBeeindigen(
            stuurgegevens=stuur(node, node.instanties()[0]), meldingId=local.meldingId, reden="risicoWeggenomen"
        )
        assert kopieen() == []  # nothing of ours on the youth any more: the copy went at once
        assert in_tabellen(node, "Bert Kopie", behalve=("logregel",)) == []
        assert not send(str(uuid.uuid4()), date.today() + timedelta(days=30))  # and nothing new is taken in
    finally:
        node.stop()
