"""The chain partner's view, through zeep built from the committed WSDL: file, match, notify,
transfer, end, retry."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import zeep

from tests.support import A, B, C, Server, bsn, client, fault_code, sg, snapshot


def _file(svc: Any, oin: str, nummer: str, naam: str = "Anna de Vries", **extra: Any) -> Any:
    return svc.MeldingAfgeven(
        stuurgegevens=sg(oin),
        jongere={"bsn": nummer},
        meldingsbevoegde={"naam": naam, "telefoon": "050-1234567", **extra},
    )


def _signals(svc: Any, oin: str, melding_id: str) -> list[Any]:
    r = svc.SignalenOphalen(stuurgegevens=sg(oin), vanafVolgnummer=0, maximaal=1000)
    return [s for s in r.signaal if s.meldingId == melding_id]


@pytest.mark.parametrize("soap12", [False, True], ids=["soap11", "soap12"])
def test_two_instanties_match(server: Server, soap12: bool) -> None:
    svc = client(server, soap12=soap12)
    youth = bsn()
    first = _file(svc, A, youth, "Anna de Vries")
    assert first.match == []
    second = _file(svc, B, youth, "Bert Smit", email="b.smit@ggd.example")
    # The second answer names the first party.
    assert len(second.match) == 1
    card = second.match[0].partij[0]
    assert (card.instantie.oin, card.instantie.naam, card.meldingsbevoegde.naam) == (
        A,
        "Jeugdzorg Noord",
        "Anna de Vries",
    )
    assert second.match[0].meldingId == second.meldingId
    # MatchesOpvragen for A shows B's card on A's own melding.
    matches = svc.MatchesOpvragen(stuurgegevens=sg(A), meldingId=first.meldingId)
    assert matches.totaal == 1
    assert matches.match[0].matchId == second.match[0].matchId
    assert [p.meldingsbevoegde.naam for p in matches.match[0].partij] == ["Bert Smit"]
    assert matches.match[0].partij[0].meldingsbevoegde.email == "b.smit@ggd.example"
    # Both parties got a nieuweMatch signal with the other's card.
    sig_a = _signals(svc, A, first.meldingId)
    sig_b = _signals(svc, B, second.meldingId)
    assert [s.soort for s in sig_a] == ["nieuweMatch"]
    assert [s.soort for s in sig_b] == ["nieuweMatch"]
    assert sig_a[0].match.partij[0].instantie.oin == B
    assert sig_b[0].match.partij[0].instantie.oin == A
    # C, not involved, sees nothing of this youth.
    assert _signals(svc, C, first.meldingId) == []
    assert all(
        m.meldingId not in (first.meldingId, second.meldingId) for m in svc.MatchesOpvragen(stuurgegevens=sg(C)).match
    )


def test_transfer_and_end(server: Server) -> None:
    svc = client(server)
    youth = bsn()
    a = _file(svc, A, youth)
    b = _file(svc, B, youth, "Bert Smit")
    c = _file(svc, C, youth, "Carla Visser")
    assert len(c.match[0].partij) == 2
    # A transfers to a colleague: B and C learn the new card.
    changed = svc.MeldingWijzigen(
        stuurgegevens=sg(A), meldingId=a.meldingId, meldingsbevoegde={"naam": "Daan Mulder", "functie": "Gezinsvoogd"}
    )
    assert sorted(p.meldingsbevoegde.naam for p in changed.match[0].partij) == ["Bert Smit", "Carla Visser"]
    for oin, own in ((B, b.meldingId), (C, c.meldingId)):
        latest = _signals(svc, oin, own)[-1]
        assert latest.soort == "gewijzigdeMatch"
        assert "Daan Mulder" in [p.meldingsbevoegde.naam for p in latest.match.partij]
    # C ends (risk gone): archived; A and B keep a match, C's match is ended.
    ended = svc.MeldingBeeindigen(stuurgegevens=sg(C), meldingId=c.meldingId, reden="risicoWeggenomen")
    assert (ended.resultaat, ended.beeindigdeMatches) == ("gearchiveerd", 1)
    assert _signals(svc, C, c.meldingId)[-1].soort == "beeindigdeMatch"
    assert _signals(svc, A, a.meldingId)[-1].soort == "gewijzigdeMatch"
    # B ends (unjustified): deleted; the match ends for A too.
    ended = svc.MeldingBeeindigen(stuurgegevens=sg(B), meldingId=b.meldingId, reden="onterecht")
    assert ended.resultaat == "verwijderd"
    last = _signals(svc, A, a.meldingId)[-1]
    assert (last.soort, last.match.status) == ("beeindigdeMatch", "beeindigd")
    assert [p.meldingsbevoegde.naam for p in last.match.partij] == ["Bert Smit"]
    assert svc.MatchesOpvragen(stuurgegevens=sg(A), meldingId=a.meldingId).totaal == 0
    # An ended melding cannot be changed or ended again.
    with pytest.raises(zeep.exceptions.Fault) as exc:
        svc.MeldingBeeindigen(stuurgegevens=sg(C), meldingId=c.meldingId, reden="onterecht")
    assert fault_code(exc.value) == "VIR-MELDING-NIET-ACTIEF"
    with pytest.raises(zeep.exceptions.Fault) as exc:
        svc.MeldingBeeindigen(stuurgegevens=sg(B), meldingId=b.meldingId, reden="onterecht")
    assert fault_code(exc.value) == "VIR-MELDING-ONBEKEND"


def test_signal_cursor_and_acknowledge(server: Server) -> None:
    svc = client(server)
    start = svc.SignalenOphalen(stuurgegevens=sg(C))
    svc.SignalenBevestigen(
        stuurgegevens=sg(C),
        totEnMetVolgnummer=max(
            [
                start.bevestigdTotEnMet,
                *(s.volgnummer for s in svc.SignalenOphalen(stuurgegevens=sg(C), maximaal=1000).signaal),
            ]
        ),
    )
    youth = bsn()
    _file(svc, A, youth)
    _file(svc, C, youth)
    pending = svc.SignalenOphalen(stuurgegevens=sg(C))
    assert [s.soort for s in pending.signaal] == ["nieuweMatch"]
    top = pending.signaal[0].volgnummer
    acked = svc.SignalenBevestigen(stuurgegevens=sg(C), totEnMetVolgnummer=top)
    assert acked.bevestigdTotEnMet == top
    assert svc.SignalenOphalen(stuurgegevens=sg(C)).signaal == []
    # Older acknowledgements never reopen signals.
    assert svc.SignalenBevestigen(stuurgegevens=sg(C), totEnMetVolgnummer=0).bevestigdTotEnMet == top
    # Paging: maximaal=1 says there is more.
    for _ in range(2):
        y = bsn()
        _file(svc, A, y)
        _file(svc, C, y)
    page = svc.SignalenOphalen(stuurgegevens=sg(C), maximaal=1)
    assert len(page.signaal) == 1 and page.meer is True


def test_retry_returns_original_answer(server: Server) -> None:
    svc = client(server)
    berichtid = str(uuid.uuid4())
    stuur = sg(A, berichtid)
    youth = bsn()
    first = svc.MeldingAfgeven(stuurgegevens=stuur, jongere={"bsn": youth}, meldingsbevoegde={"naam": "Anna"})
    before = snapshot(server.db_url)
    again = svc.MeldingAfgeven(stuurgegevens=stuur, jongere={"bsn": youth}, meldingsbevoegde={"naam": "Anna"})
    assert again.meldingId == first.meldingId
    assert again.stuurgegevens.berichtId == first.stuurgegevens.berichtId
    assert snapshot(server.db_url) == before, "a retry must create nothing"
    with pytest.raises(zeep.exceptions.Fault) as exc:
        svc.MeldingAfgeven(stuurgegevens=stuur, jongere={"bsn": bsn()}, meldingsbevoegde={"naam": "Anna"})
    assert fault_code(exc.value) == "VIR-BERICHTID-HERGEBRUIKT"
    assert snapshot(server.db_url) == before


def test_concurrent_retries_and_filings(server: Server) -> None:
    """Identical retries racing each other store one melding; instanties filing on one youth at the
    same moment always end up in one match."""
    stuur = sg(A)
    youth = bsn()
    answers: list[str] = []
    errors: list[BaseException] = []

    def retry() -> None:
        try:
            r = client(server).MeldingAfgeven(
                stuurgegevens=stuur, jongere={"bsn": youth}, meldingsbevoegde={"naam": "Anna"}
            )
            answers.append(r.meldingId)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(set(answers)) == 1

    youths = [bsn() for _ in range(8)]
    results: dict[tuple[str, str], Any] = {}

    def file(oin: str, y: str) -> None:
        try:
            results[(oin, y)] = _file(client(server), oin, y)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=file, args=(oin, y)) for y in youths for oin in (A, B, C)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    svc = client(server)
    for y in youths:
        ids = {oin: results[(oin, y)].meldingId for oin in (A, B, C)}
        match_ids = set()
        for oin, mid in ids.items():
            m = svc.MatchesOpvragen(stuurgegevens=sg(oin), meldingId=mid).match
            assert len(m) == 1 and len(m[0].partij) == 2
            match_ids.add(m[0].matchId)
        assert len(match_ids) == 1, "one youth, one client match"


def test_readme_examples_match(server: Server) -> None:
    """docs/examples/melding-{a,b}.xml, as the README posts them with curl."""
    from lxml import etree

    from tests.support import NS, ROOT, post

    answers = []
    for name in ("melding-a.xml", "melding-b.xml", "melding-a.xml"):
        r = post(server, (ROOT / "docs" / "examples" / name).read_bytes())
        assert r.status_code == 200, r.text
        answers.append(etree.fromstring(r.content))
    names = answers[1].xpath("//kp:match/g:partij/g:meldingsbevoegde/g:naam/text()", namespaces=NS)
    assert names == ["Anna de Vries"]
    # Posting the first file again is a retry: the same answer, byte for byte.
    assert etree.tostring(answers[0], method="c14n") == etree.tostring(answers[2], method="c14n")
