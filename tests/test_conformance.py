"""The federation conformance kit (``vir-gateway conformance federatie``): it passes against this gateway, and
names every difference of a deliberately broken peer (a small WSGI server below)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from lxml import etree

from gateway.sleutels import maak_sleutelbestand
from tests.support import GATEWAY_OIN, A, Server, bsn, client, sg
from vir.cli import main

FED = "urn:nl:vir:gateway:federatie:v1"
G = "urn:nl:vir:gateway:gegevens:v1"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
KIT_OIN = "00000008123456789000"


def kit(
    url: str, capsys: pytest.CaptureFixture[str], *extra: str, sleutel: Path | None = None
) -> tuple[int, list[str]]:
    if sleutel is None:
        sleutel = maak_sleutelbestand(Path(tempfile.mkdtemp()) / "federatie.sleutel")
    code = main(["conformance", "federatie", url, "--ontvanger", GATEWAY_OIN, "--systeem", "CONFORM", "--oin",
                 KIT_OIN, "--federatiesleutel", str(sleutel), *extra])  # fmt: skip
    return code, capsys.readouterr().out.splitlines()


def test_the_kit_passes_against_this_gateway(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    env = {**os.environ, "VIR_DATA_DIR": str(server.log.parent / "data"), "VIR_DATABASE_URL": server.db_url}
    subprocess.run(
        [sys.executable, "-m", "vir", "federatie", "peer", "add", "--systeem", "CONFORM",
         "--url", "http://127.0.0.1:9/v1/federatie", "--oin", KIT_OIN],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    # A node that is no hub stores another system's melding only on a youth it holds a melding on itself: the kit
    # is given such a test youth, and the key the node and its peers share.
    youth = bsn()
    client(server).MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": youth}, meldingsbevoegde={"naam": "Anna"})
    sleutel = maak_sleutelbestand(server.log.parent / "data" / "keys" / "federatie.sleutel")
    code, regels = kit(f"{server.url}/v1/federatie", capsys, "--bsn", youth, sleutel=sleutel)
    assert code == 0, regels
    assert [r.split()[0] for r in regels[:-1]] == ["OK"] * 9, regels
    assert regels[-1] == "9/9 behaviours conform"
    assert youth not in " ".join(regels)
    assert not any(c.isdigit() and len(c) == 9 for c in " ".join(regels).split()), "no youth key in the output"


# --- a deliberately broken peer -------------------------------------------------------------------


def _antwoord(operatie: str, verzoek: etree._Element, inhoud: str, kruisverwijzing: str | None = None) -> bytes:
    sg = verzoek.find(f"{{{FED}}}stuurgegevens")
    assert sg is not None
    zender = sg.findtext(f"{{{G}}}zender/{{{G}}}oin")
    kruis = kruisverwijzing or sg.findtext(f"{{{G}}}berichtId")
    return f"""<soap:Envelope xmlns:soap="{SOAP}"><soap:Body><fed:{operatie}Response xmlns:fed="{FED}" xmlns:g="{G}">
<fed:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId><g:tijdstip>2026-11-23T10:00:00Z</g:tijdstip>
<g:zender><g:oin>{GATEWAY_OIN}</g:oin><g:applicatie>kapot</g:applicatie></g:zender>
<g:ontvanger><g:oin>{zender}</g:oin></g:ontvanger><g:kruisverwijzing>{kruis}</g:kruisverwijzing></fed:stuurgegevens>
{inhoud}</fed:{operatie}Response></soap:Body></soap:Envelope>""".encode()


def _fout(faultcode: str, code: str | None) -> bytes:
    detail = f'<detail><g:fout xmlns:g="{G}"><g:code>{code}</g:code></g:fout></detail>' if code else ""
    return f"""<soap:Envelope xmlns:soap="{SOAP}"><soap:Body><soap:Fault><faultcode>soap:{faultcode}</faultcode>
<faultstring>kapot</faultstring>{detail}</soap:Fault></soap:Body></soap:Envelope>""".encode()


def kapotte_peer(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answers in the contract's shape, but: Ping with a wrong kruisverwijzing, every upsert and withdrawal
    processed (no idempotence, no versions, no tombstones, any afzender, no need-to-know: every announcement
    known, every youth stored without being a hub), a message for another ontvanger
    with a Server fault without code, a schema-invalid message with the wrong code."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    envelope = etree.fromstring(body)
    verzoek = envelope.find(f"{{{SOAP}}}Body")[0]  # type: ignore[index]
    operatie = etree.QName(verzoek).localname
    status, antwoord = "200 OK", b""
    if verzoek.find(f"{{{FED}}}bron") is None and operatie == "MeldingIntrekken":
        status, antwoord = "500 Internal Server Error", _fout("Client", "VIR-SCHEMA-ONGELDIG")
    elif verzoek.findtext(f".//{{{G}}}ontvanger/{{{G}}}oin") != GATEWAY_OIN:
        status, antwoord = "500 Internal Server Error", _fout("Server", None)
    elif operatie == "JongereAankondigen":
        antwoord = _antwoord(operatie, verzoek, "<fed:bekend>true</fed:bekend>")
    elif operatie == "Ping":
        antwoord = _antwoord(operatie, verzoek, "<fed:systeem>KAPOT</fed:systeem>", kruisverwijzing=str(uuid.uuid4()))
    else:
        antwoord = _antwoord(operatie, verzoek, "<fed:verwerkt>true</fed:verwerkt>")
    start_response(status, [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(antwoord)))])
    return [antwoord]


class _Stil(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def kapot() -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, kapotte_peer, handler_class=_Stil)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1/federatie"
    httpd.shutdown()
    httpd.server_close()


def test_the_kit_names_every_difference_of_a_broken_peer(kapot: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, regels = kit(kapot, capsys)
    assert code == 1
    assert regels == [
        "FOUT  ping: Ping answer's kruisverwijzing is not the request's berichtId",
        "FOUT  need to know: an announcement of a youth the target holds nothing on: bekend=true, expected false; "
        "a melding on that youth (no hub: stores nothing): verwerkt=true, expected false",
        "OK    new melding processed",
        "FOUT  idempotent receipt: version 1 again: verwerkt=true, expected false",
        "FOUT  newer version processed, older ignored: version 2 after 3: verwerkt=true, expected false",
        "FOUT  withdrawal processed, late upsert ignored: version 3 after the withdrawal: verwerkt=true, "
        "expected false",
        "FOUT  withdrawal before upsert keeps it out: version 1 after its withdrawal (version 2): verwerkt=true, "
        "expected false",
        regels[7],
        "FOUT  faults with codes: a message for another ontvanger: fault Server (without g:fout/g:code), expected "
        "fault Client VIR-ONTVANGER-ONJUIST; a MeldingIntrekken without bron: fault Client VIR-SCHEMA-ONGELDIG, "
        "expected fault Client VIR-SCHEMA-ELEMENT-ONTBREEKT",
        "1/9 behaviours conform; 8 differ from the contract",
    ]
    assert regels[7].startswith("FOUT  unknown system refused: afzender ONBEKEND")
    assert regels[7].endswith("answered without a fault, expected Client fault VIR-SYSTEEM-ONBEKEND")


def test_an_unreachable_peer_fails_every_behaviour(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support import free_port

    code, regels = kit(f"http://127.0.0.1:{free_port()}/v1/federatie", capsys, "--timeout", "2")
    assert code == 1
    assert all(r.startswith("FOUT") and "no connection" in r for r in regels[:-1]), regels
    assert regels[-1] == "0/9 behaviours conform; 9 differ from the contract"
