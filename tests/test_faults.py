"""Every fault code is documented, and every one of them can occur."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import requests
from lxml import etree

from gateway.config import Settings
from gateway.errors import FAULTS
from store.db import Database
from tests.conftest import PG_ADMIN
from tests.support import NS, ROOT, A, G, Server, fault_code_of, post, snapshot, wsgi_post
from vir.app import create_app

DOC = ROOT / "docs" / "faults.md"

# Codes that need more than a message file; each is provoked by a test in this module.
PROVOKED_HERE = {
    "VIR-HTTP-METHODE",
    "VIR-HTTP-CONTENTTYPE",
    "VIR-BERICHT-TE-GROOT",
    "VIR-INTERN",
    "VIR-OPSLAG-NIET-BESCHIKBAAR",
    "VIR-BERICHTID-HERGEBRUIKT",
}


def test_every_code_is_documented_once() -> None:
    rows = re.findall(
        r"^\| `(VIR-[A-Z0-9-]+)` \| (Client|Server|MustUnderstand) \|", DOC.read_text(encoding="utf-8"), re.M
    )
    documented = dict(rows)
    assert len(rows) == len(documented), "a code is listed twice"
    assert documented == {code: spec.faultcode for code, spec in FAULTS.items()}


# Codes provoked by tests elsewhere (the test named asserts the code).
PROVOKED_ELSEWHERE = {
    "VIR-SYSTEEM-ONBEKEND": "tests/test_federation.py::test_receipt_is_idempotent_and_never_goes_back_a_version",
    "VIR-JONGERE-OVERLEDEN": "tests/test_betrokkene.py::test_the_register_refuses_the_dead_and_the_grown_up",
    "VIR-AFSCHERMEN-NIET-TOEGESTAAN": "tests/test_verwijsindex.py::test_a_shielded_melding_never_reveals_its_filer",
    "VIR-BSN-NIET-TOEGESTAAN": "tests/test_verwijsindex.py::test_batch_filing_gives_a_result_per_item",
    "VIR-MATCH-ONBEKEND": "tests/test_verwijsindex.py::test_coordination_and_follow_up",
    "VIR-REGIEVOERDER-NIET-TOEGESTAAN": "tests/test_verwijsindex.py::test_coordination_and_follow_up",
    "VIR-AFSTEMMING-DATUM-ONGELDIG": "tests/test_verwijsindex.py::test_coordination_and_follow_up",
    "VIR-MELDINGSBEVOEGDE-ONTBREEKT": "tests/test_verwijsindex.py::test_case_events_follow_the_profile",
    "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN": "tests/test_profielen.py::test_designation_and_handover",
    "VIR-ZENDER-ONJUIST": "tests/test_tls.py::test_the_certificate_decides_who_is_calling",
    "VIR-PROXY-NIET-VERTROUWD": "tests/test_tls.py::test_forwarded_certificates_only_from_the_proxy",
    "VIR-CERTIFICAAT-ONGELDIG": "tests/test_tls.py::test_the_gateway_checks_the_forwarded_certificate_again",
    "VIR-WSA-HERHAALD": "tests/test_wss_service.py::test_a_replayed_request_is_refused",
    "VIR-KETENPARTNER-PEER": "tests/test_federatie_toegang.py::test_peers_cannot_use_the_chain_partner_service",
    "VIR-PSEUDONIEM-VERSIE": (
        "tests/test_federatie_toegang.py::test_odd_but_valid_federated_messages_never_end_in_an_internal_error"
    ),
    "VIR-KAART-OIN-LOKAAL": (
        "tests/test_federatie_toegang.py::"
        "test_a_card_naming_one_of_our_oins_is_refused_and_other_systems_parties_stay_apart"
    ),
    **{
        code: "tests/test_federatie_toegang.py::test_impostors_on_the_federation_service_are_refused"
        for code in (
            "VIR-PEER-ONBEKEND",
            "VIR-PEER-GESCHORST",
            "VIR-FEDERATIE-KETENPARTNER",
            "VIR-AFZENDER-ONJUIST",
            "VIR-BRON-ONJUIST",
        )
    },
    "VIR-CHECKPOINT-GESPLITST": "tests/test_getuigen.py::test_a_split_view_is_refused_recorded_and_shown",
    **{
        code: "tests/test_getuigen.py::test_a_checkpoint_not_signed_by_the_peer_is_refused"
        for code in ("VIR-CHECKPOINT-ONGELDIG", "VIR-CHECKPOINT-SLEUTEL-ONBEKEND")
    },
    "VIR-GEBRUIKER-ONTBREEKT": "tests/test_toegang.py::test_reads_of_matches_name_the_professional",
    "VIR-CERTIFICAAT-OIN-ONGELDIG": "tests/test_crl.py::test_the_oin_only_in_pkioverheid_form",
    "VIR-CERTIFICAAT-STATUS-ONBEKEND": "tests/test_crl.py::test_a_crl_counts_only_signed_and_current",
    **{
        code: "tests/test_wss_service.py::test_tampered_requests_are_refused"
        for code in (
            "VIR-WSS-HANDTEKENING-ONGELDIG",
            "VIR-WSS-ONVOLLEDIG",
            "VIR-WSS-TIJDSTEMPEL",
            "VIR-WSS-ONTBREEKT",
            "VIR-WSS-CERTIFICAAT",
            "VIR-WSS-ALGORITME",
            "VIR-WSA-ONGELDIG",
        )
    },
}


def test_every_code_can_occur() -> None:
    from tests.test_messages import FILES, expected_code

    from_files = {expected_code(p) for p in FILES} - {None}
    assert from_files | PROVOKED_HERE | set(PROVOKED_ELSEWHERE) == set(FAULTS)
    for code, where in PROVOKED_ELSEWHERE.items():
        path, test = where.split("::")
        source = (ROOT / path).read_text(encoding="utf-8")
        assert f"def {test}(" in source and code in source, where


def _ping(oin: str = A) -> bytes:
    return f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:kp="urn:nl:vir:gateway:ketenpartner:v1" xmlns:g="{G}"><soap:Body><kp:Ping><kp:stuurgegevens>
<g:berichtId>{uuid.uuid4()}</g:berichtId><g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip>
<g:zender><g:oin>{oin}</g:oin><g:applicatie>t</g:applicatie></g:zender>
<g:ontvanger><g:oin>00000001000000000000</g:oin></g:ontvanger></kp:stuurgegevens></kp:Ping></soap:Body>
</soap:Envelope>""".encode()


def test_transport_faults(server: Server) -> None:
    before = snapshot(server.db_url)
    r = requests.put(server.endpoint, data=_ping(), headers={"Content-Type": "text/xml"}, timeout=10)
    assert (r.status_code, fault_code_of(r)) == (405, "VIR-HTTP-METHODE")
    r = post(server, _ping(), "application/json")
    assert (r.status_code, fault_code_of(r)) == (415, "VIR-HTTP-CONTENTTYPE")
    huge = _ping().replace(b"<kp:Ping>", b"<kp:Ping>" + b"<!--" + b"x" * (5 * 1024 * 1024) + b"-->")
    r = post(server, huge)
    assert (r.status_code, fault_code_of(r)) == (500, "VIR-BERICHT-TE-GROOT")
    assert snapshot(server.db_url) == before


def test_store_unavailable_is_a_server_fault(tmp_path: Path) -> None:
    """A database that cannot be reached: VIR-OPSLAG-NIET-BESCHIKBAAR, without library text."""
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN).set(database=f"vir_absent_{uuid.uuid4().hex[:8]}").render_as_string(False)
    db = Database(url)
    app = create_app(Settings(data_dir=tmp_path), db)
    status, out = wsgi_post(app, _ping(), "text/xml")
    db.dispose()
    doc = etree.fromstring(out)
    assert status.startswith("500")
    assert doc.findtext(".//g:fout/g:code", namespaces=NS) == "VIR-OPSLAG-NIET-BESCHIKBAAR"
    assert doc.findtext("*/s11:Fault/faultcode", namespaces=NS).endswith(":Server")
    assert "psycopg" not in out.decode() and "does not exist" not in out.decode()


def test_internal_error_carries_a_correlation_id(tmp_path: Path, caplog: Any) -> None:
    """A bug (here: a clock that fails) gives VIR-INTERN with a correlation id that is also logged."""
    from store.migrate import upgrade

    settings = Settings(data_dir=tmp_path)
    db = Database(settings.url)
    upgrade(db)
    app = create_app(settings, db)

    def broken_clock() -> Any:
        raise RuntimeError("secret internal detail")

    app.deps.clock = broken_clock
    status, out = wsgi_post(app, _ping(), "text/xml")
    db.dispose()
    doc = etree.fromstring(out)
    assert status.startswith("500")
    assert doc.findtext(".//g:fout/g:code", namespaces=NS) == "VIR-INTERN"
    correlation = doc.findtext(".//g:fout/g:correlatieId", namespaces=NS)
    assert correlation and correlation in caplog.text
    assert "secret internal detail" not in out.decode()
