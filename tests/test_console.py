"""The operator console in a real browser: Debian's chromium driven by Playwright, against real gateway
processes, with operator certificates of each role from a PKI made here.

``VIR_CONSOLE_SCREENSHOTS=DIR`` also writes screenshots of the main pages to DIR (docs/console/ holds the
committed ones)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import urllib.parse
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import create_engine, text

from gateway import pki
from gateway.log import bundle
from tests.conftest import create_pg_database, drop_pg_database
from tests.support import ROOT, A, B, Server, bsn, log_size, log_tail, start_server
from vir import cli

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MENSEN = {"beheerder": "Bea Beheer", "auditor": "Otto Audit", "privacyfunctionaris": "Pim Privacy"}
SCHERMAFDRUKKEN = os.environ.get("VIR_CONSOLE_SCREENSHOTS")
expect.set_options(timeout=15_000)  # a busy machine: the default 5 s is for fast ones


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "the browser tests need Debian's chromium (tests/run.sh installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def melding(bericht_id: str, op: str = "111222333") -> bytes:
    """docs/examples/melding-a.xml (Jeugdzorg Noord, A) with a fresh berichtId, on the BSN ``op``, filed by
    A's designated demo professional (outside development mode only a designated professional files)."""
    body = (ROOT / "docs" / "examples" / "melding-a.xml").read_bytes()
    body = re.sub(rb"<g:berichtId>[^<]+<", f"<g:berichtId>{bericht_id}<".encode(), body)
    body = body.replace(b"</g:telefoon>", b"</g:telefoon><g:medewerkerId>demo</g:medewerkerId>")
    return body.replace(b">111222333<", f">{op}<".encode())


def entries(db_url: str, na: int, **waar: str) -> list[dict[str, Any]]:
    """Log entries from ``na`` on whose columns have the given values."""
    return [r for r in log_tail(db_url, na) if all(r[k] == v for k, v in waar.items())]


def payload(r: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(r["payload"]))


def schermafdruk(page: Page, naam: str) -> None:
    if SCHERMAFDRUKKEN:
        Path(SCHERMAFDRUKKEN).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCHERMAFDRUKKEN) / f"{naam}.png"), full_page=naam != "logboek")


# --- development mode: the README's acceptance -----------------------------------------------------------


@pytest.mark.slow
def test_development_mode_shows_a_filing_by_its_berichtid_and_logs_the_view(browser: Browser, tmp_path: Path) -> None:
    srv = start_server(tmp_path, None)
    try:
        bericht_id = str(uuid.uuid4())
        r = requests.post(srv.endpoint, data=melding(bericht_id), headers={"Content-Type": "text/xml"}, timeout=30)
        assert r.status_code == 200, r.text
        voor = log_size(srv.db_url)
        page = browser.new_page(locale="nl-NL")
        page.goto(f"{srv.url}/beheer/log?berichtId={bericht_id}")
        expect(page.locator(".banner")).to_contain_text("ONTWIKKELMODUS")
        rij = page.locator("table.regels tbody tr").filter(has_text="inkomend")
        expect(rij).to_contain_text("MeldingAfgeven")
        expect(rij).to_contain_text(A)  # the sender
        page.close()
        gezien = entries(srv.db_url, voor, soort="inzage", operatie="beheer log")
        assert len(gezien) == 1
        assert payload(gezien[0])["filters"] == {"bericht_id": bericht_id}
        assert gezien[0]["actor"] == "ontwikkelaar (ontwikkelmodus)"
    finally:
        srv.stop()


# --- with certificates ---------------------------------------------------------------------------------------


@dataclass
class Omgeving:
    server: Server
    ketenpki: Path
    beheerpki: Path
    env: dict[str, str]

    def paar(self, naam: str) -> tuple[str, str]:
        d = self.beheerpki if naam in MENSEN or naam == "onbekend" else self.ketenpki
        return (str(d / f"{naam}.pem"), str(d / f"{naam}-key.pem"))

    def context(self, browser: Browser, naam: str | None) -> BrowserContext:
        certs = []
        if naam is not None:
            cert, key = self.paar(naam)
            certs = [{"origin": self.server.url, "certPath": cert, "keyPath": key}]
        ctx = browser.new_context(
            ignore_https_errors=True, client_certificates=certs, accept_downloads=True, locale="nl-NL"
        )
        ctx.set_default_timeout(15_000)
        return ctx

    def sql(self, query: str, **params: Any) -> list[Any]:
        engine = create_engine(self.server.db_url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(query), params)
                return list(result) if result.returns_rows else []
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def omgeving(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Omgeving]:
    tmp = tmp_path_factory.mktemp("console")
    keten, beheer = tmp / "keten", tmp / "beheer"
    pki.maak(keten, [A, B])
    pki.maak(beheer, [], ca_naam="vir-gateway beheer-CA")  # the operator CA: a CA of its own
    for rol in MENSEN:
        pki.beheerder(beheer, MENSEN[rol], rol)
    pki.beheerder(beheer, "Nog Niemand", "onbekend")
    db_url = f"sqlite:///{tmp / 'console.sqlite3'}" if backend.startswith("sqlite") else create_pg_database()
    env = {
        "VIR_TLS_CERT": str(keten / "server.pem"), "VIR_TLS_KEY": str(keten / "server-key.pem"),
        "VIR_TLS_CA": str(keten / "ca.pem"), "VIR_TLS_CRL": str(keten / "crl.pem"),
        "VIR_LOG_KEY": str(keten / "log-key.pem"), "VIR_LOG_CERT": str(keten / "log.pem"),
        "VIR_VSN_SLEUTEL": str(keten / "vsn.sleutel"), "VIR_FEDERATIE_SLEUTEL": str(keten / "federatie.sleutel"),
        "VIR_BEHEER_CA": str(beheer / "ca.pem"), "VIR_BEHEER_CRL": str(beheer / "crl.pem"),
        "VIR_DATA_DIR": str(tmp / "data"), "VIR_DATABASE_URL": db_url,
        "VIR_CHECKPOINT_REGELS": "1", "VIR_CHECKPOINT_SECONDEN": "1",
    }  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        assert cli.main(["db", "upgrade"]) == 0
        for rol, naam in MENSEN.items():
            cert = str(beheer / f"{rol}.pem")
            assert cli.main(["beheerder", "add", "--naam", naam, "--rol", rol, "--certificaat", cert]) == 0
        # A chain partner's certificate is no operator's, whatever the CLI is told.
        assert (
            cli.main(["beheerder", "add", "--naam", "X", "--rol", "auditor", "--certificaat", str(keten / f"{A}.pem")])
            == 2
        )
    health = {"cert": (str(keten / f"{A}.pem"), str(keten / f"{A}-key.pem")), "verify": str(keten / "ca.pem")}
    srv = start_server(tmp / "srv", db_url, extra_env=env, scheme="https", health=health)
    yield Omgeving(srv, keten, beheer, env)
    srv.stop()
    if not backend.startswith("sqlite"):
        drop_pg_database(db_url)


def indienen(o: Omgeving, op: str) -> str:
    """A's filing over mutual TLS on the BSN ``op``; returns its berichtId."""
    bericht_id = str(uuid.uuid4())
    r = requests.post(
        f"{o.server.url}/v1/ketenpartner", data=melding(bericht_id, op), headers={"Content-Type": "text/xml"},
        cert=o.paar(A), verify=str(o.ketenpki / "ca.pem"), timeout=30,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return bericht_id


@pytest.mark.slow
def test_refused_without_an_operator_certificate_or_with_the_wrong_role(browser: Browser, omgeving: Omgeving) -> None:
    o, url = omgeving, omgeving.server.url
    voor = log_size(o.server.db_url)
    for naam, code in ((None, "GEEN-CERTIFICAAT"), (A, "VREEMD-CERTIFICAAT"), ("onbekend", "ONBEKEND-CERTIFICAAT")):
        ctx = o.context(browser, naam)
        page = ctx.new_page()
        antwoord = page.goto(f"{url}/beheer/log")
        assert antwoord is not None and antwoord.status == 403
        expect(page.locator("h1")).to_have_text("Geen toegang")
        expect(page.locator("nav")).to_have_count(0)
        ctx.close()
        (r,) = entries(o.server.db_url, voor, foutcode=f"VIR-BEHEER-{code}")
        assert r["soort"] == "fout" and r["operatie"] == "beheer geweigerd"
        assert r["actor"] == {None: "onbekend", A: A, "onbekend": "Nog Niemand"}[naam]

    # The privacy officer has no federation page; the auditor cannot change a profile, not even with a form
    # made to look enabled.
    ctx = o.context(browser, "privacyfunctionaris")
    page = ctx.new_page()
    assert page.goto(f"{url}/beheer/federatie").status == 403  # type: ignore[union-attr]
    expect(page.locator("nav")).not_to_contain_text("Federatie")
    ctx.close()
    ctx = o.context(browser, "auditor")
    page = ctx.new_page()
    page.goto(f"{url}/beheer/instanties/{B}")
    expect(page.locator("#melding_jaren")).to_be_disabled()
    page.evaluate(
        """() => { const f = document.querySelector('fieldset'); f.disabled = false;
                   const b = document.createElement('button'); b.type = 'submit'; b.textContent = 'stiekem';
                   f.appendChild(b); }"""
    )
    page.fill("#melding_jaren", "1")
    with page.expect_navigation():
        page.click("text=stiekem")
    expect(page.locator("h1")).to_have_text("Geen toegang")
    ctx.close()
    (r,) = entries(o.server.db_url, voor, foutcode="VIR-BEHEER-ROL", actor=MENSEN["auditor"])
    assert payload(r)["pad"] == f"/beheer/instanties/{B}" and payload(r)["methode"] == "POST"
    assert o.sql("SELECT melding_jaren FROM instantie WHERE oin = :oin", oin=B)[0][0] is None
    entries(o.server.db_url, voor, foutcode="VIR-BEHEER-ROL", actor=MENSEN["privacyfunctionaris"]).pop()

    # A form without its token (another site's) is refused, even from a beheerder.
    r2 = requests.post(
        f"{url}/beheer/federatie/opnieuw", data={"id": "1"}, cert=o.paar("beheerder"),
        verify=str(o.ketenpki / "ca.pem"), timeout=30,
    )  # fmt: skip
    assert r2.status_code == 403
    entries(o.server.db_url, voor, foutcode="VIR-BEHEER-CSRF", actor=MENSEN["beheerder"]).pop()

    # The chain-partner service stays closed to operator certificates and to requests without one.
    for cert in (o.paar("beheerder"), None):
        r3 = requests.get(f"{url}/v1/ketenpartner?wsdl", cert=cert, verify=str(o.ketenpki / "ca.pem"), timeout=30)
        assert r3.status_code == 403 and b"VIR-CERTIFICAAT-ONGELDIG" in r3.content
    assert len(entries(o.server.db_url, voor, foutcode="VIR-CERTIFICAAT-ONGELDIG")) == 2


@pytest.mark.slow
def test_auditor_searches_the_log_and_the_browser_checks_the_proof(browser: Browser, omgeving: Omgeving) -> None:
    o, url = omgeving, omgeving.server.url
    jongere = "999990019"  # from the range set aside for tests: it appears in the committed screenshots
    bericht_id = indienen(o, jongere)
    voor = log_size(o.server.db_url)
    ctx = o.context(browser, "auditor")
    page = ctx.new_page()
    page.goto(f"{url}/beheer/")
    expect(page.locator("header")).to_contain_text(MENSEN["auditor"])
    page.click("nav >> text=Logboek")
    page.get_by_label("berichtId").fill(bericht_id)
    page.get_by_label("berichtId").press("Enter")
    rij = page.locator("table.regels tbody tr").filter(has_text="inkomend")
    expect(rij).to_contain_text("MeldingAfgeven")
    expect(rij).to_contain_text(A)
    volgnummer = int(rij.locator("td").first.inner_text())
    rij.locator("a").first.click()
    expect(page.locator("h1")).to_have_text(f"Logregel {volgnummer}")
    uitslag = page.locator("#bewijsresultaat")
    for _ in range(20):  # a checkpoint follows within a second or two
        if uitslag.get_attribute("data-uitkomst") != "geen":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(uitslag).to_have_attribute("data-uitkomst", "geldig")
    expect(uitslag).to_contain_text("Bewijs klopt")
    expect(page.locator("pre.payload")).to_contain_text("MeldingAfgeven")
    schermafdruk(page, "logregel")

    # The payload altered in the database (through SQL): the browser's check fails, and says where.
    (oud,) = o.sql("SELECT payload FROM logregel WHERE volgnummer = :n", n=volgnummer)[0]
    o.sql(
        "UPDATE logregel SET payload = :p WHERE volgnummer = :n", p=bytes(oud).replace(b"Anna", b"Anne"), n=volgnummer
    )
    page.reload()
    expect(uitslag).to_have_attribute("data-uitkomst", "ongeldig")
    expect(page.locator("#bewijsstappen li").first).to_have_attribute("data-ok", "nee")
    expect(page.locator("#bewijsstappen li").nth(1)).to_have_attribute("data-ok", "ja")  # metadata intact
    o.sql("UPDATE logregel SET payload = :p WHERE volgnummer = :n", p=bytes(oud), n=volgnummer)
    page.reload()
    expect(uitslag).to_have_attribute("data-uitkomst", "geldig")  # put back: whole again

    # BSN search only with a reason, which the log records.
    page.click("nav >> text=Logboek")
    page.get_by_label("BSN", exact=True).fill(jongere)
    page.get_by_label("Reden").fill("inzageverzoek 2026-118 van de jongere")
    page.click("button:has-text('Zoeken op BSN')")
    expect(page.locator("table.regels")).to_contain_text("MeldingAfgeven")
    ctx.close()

    mijn = entries(o.server.db_url, voor, soort="inzage", actor=MENSEN["auditor"])
    assert {r["operatie"] for r in mijn} == {"beheer overzicht", "beheer log", "beheer regel", "beheer log-bsn"}
    (zoek,) = [r for r in mijn if r["operatie"] == "beheer log-bsn"]
    assert payload(zoek)["reden"] == "inzageverzoek 2026-118 van de jongere" and payload(zoek)["gevonden"] >= 1
    assert all(payload(r)["rol"] == "auditor" for r in mijn)


@pytest.mark.slow
def test_beheerder_changes_a_profile_and_replays_a_dead_letter(browser: Browser, omgeving: Omgeving) -> None:
    o, url = omgeving, omgeving.server.url
    o.sql("INSERT INTO peer (systeem, url, oin, actief) VALUES ('ZVJ', 'https://zvj.invalid/v1/federatie', :oin, :t)",
          oin="00000002000000000000", t=True)  # fmt: skip
    o.sql(
        "INSERT INTO federatie_uitgaand (peer, soort, bron_systeem, bron_melding_id, versie, inhoud, status, pogingen,"
        " volgende_poging, laatste_fout, aangemaakt) VALUES ('ZVJ', 'doorgeven', 'VIRGW', :m, 1, '{}', 'dood', 50,"
        " CURRENT_TIMESTAMP, 'peer onbereikbaar', CURRENT_TIMESTAMP)",
        m=str(uuid.uuid4()),
    )
    (dood_id,) = o.sql("SELECT max(id) FROM federatie_uitgaand")[0]
    # A retention run, for the overview (its own process: the command keeps its connections to the end).
    r = subprocess.run([sys.executable, "-m", "vir", "onderhoud"], env={**os.environ, **o.env},
                       capture_output=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    voor = log_size(o.server.db_url)
    ctx = o.context(browser, "beheerder")
    page = ctx.new_page()
    page.goto(f"{url}/beheer/")
    expect(page.locator("dd").filter(has_text="jongeren vergeten")).to_contain_text("beëindigd 0")
    page.goto(f"{url}/beheer/federatie")
    expect(page.locator("table").first).to_contain_text("ZVJ")
    schermafdruk(page, "federatie")
    page.get_by_label(f"levering {dood_id} kiezen").check()
    page.click("button:has-text('opnieuw aanbieden')")
    expect(page.locator("p.ok")).to_contain_text("1 levering(en)")
    assert o.sql("SELECT status, pogingen FROM federatie_uitgaand WHERE id = :i", i=dood_id)[0] == ("wachtend", 0)

    page.click("nav >> text=Instanties")
    page.click("text=GGD Fryslân")
    page.get_by_label("Looptijd van een melding in jaren", exact=False).fill("1")
    page.get_by_label("Mag regievoerder zijn").check()
    page.click("button:has-text('Profiel opslaan')")
    expect(page.locator("p.ok")).to_contain_text("Profiel gewijzigd")
    expect(page.locator("table").last).to_contain_text(MENSEN["beheerder"])
    schermafdruk(page, "instantie")
    ctx.close()
    assert o.sql("SELECT melding_jaren, mag_regievoeren FROM instantie WHERE oin = :oin", oin=B)[0] == (1, True)

    acties = entries(o.server.db_url, voor, soort="beheer", actor=MENSEN["beheerder"])
    assert [r["operatie"] for r in acties] == ["beheer federatie-opnieuw", "beheer instantie-profiel"]
    assert payload(acties[0])["opnieuw"] == [dood_id]
    assert payload(acties[1])["profiel"]["oin"] == B
    assert payload(acties[1])["gewijzigd"] == ["magRegievoeren", "meldingJaren"]
    gezien = {r["operatie"] for r in entries(o.server.db_url, voor, soort="inzage", actor=MENSEN["beheerder"])}
    assert gezien == {"beheer overzicht", "beheer federatie", "beheer instanties", "beheer instantie"}


@pytest.mark.slow
def test_auditor_exports_a_bundle_and_a_report(browser: Browser, omgeving: Omgeving, tmp_path: Path) -> None:
    o, url = omgeving, omgeving.server.url
    indienen(o, bsn())
    ctx = o.context(browser, "auditor")
    page = ctx.new_page()
    page.goto(f"{url}/beheer/checkpoints")
    with page.expect_download() as d:
        page.click("button:has-text('Bundel exporteren')")
    pad = tmp_path / "bundel.zip"
    d.value.save_as(pad)
    resultaat, manifest = bundle.verifieer(pad, (o.ketenpki / "log.pem").read_bytes())
    assert resultaat.ok, resultaat.bevindingen
    assert manifest["van"] == 0 and resultaat.regels == manifest["tot"] + 1

    page.click("nav >> text=Rapporten")
    page.get_by_label("Per", exact=True).select_option("dag")
    page.click("button:has-text('Tonen')")
    expect(page.get_by_role("img", name="Tellingen per periode")).to_be_visible()
    per_instantie = page.get_by_role("img", name="Tellingen per instantie over de hele periode")
    expect(per_instantie.locator("title", has_text="Jeugdzorg Noord: ")).not_to_have_count(0)
    with page.expect_download() as d:
        page.click("text=CSV downloaden")
    csv = tmp_path / "rapport.csv"
    d.value.save_as(csv)
    kop, *rijen = csv.read_text().splitlines()
    assert kop == "periode,instantie_oin,instantie_naam,meldingen,clientmatches,gezinsmatches,afstemmingen,verlopen"
    assert any("Jeugdzorg Noord" in r for r in rijen)
    ctx.close()
    with zipfile.ZipFile(pad) as z:
        assert "manifest.json" in z.namelist()


PAGINAS = ["/beheer/", "/beheer/log", "/beheer/log/0", "/beheer/checkpoints", "/beheer/federatie", "/beheer/instanties",
           f"/beheer/instanties/{A}", "/beheer/rapporten"]  # fmt: skip

FOCUSBAAR = """() => [...document.querySelectorAll(
  'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), ' +
  'summary, [tabindex="0"]')]
  .filter(e => e.getClientRects().length > 0 && !e.closest('fieldset[disabled]'))
  .filter(e => { const d = e.closest('details:not([open])'); return !d || e.parentElement === d; })
  .map((e, i) => { e.dataset.focus = String(i); return String(i); })"""


MENU = {
    "beheerder": ["Overzicht", "Logboek", "Checkpoints", "Federatie", "Instanties", "Rapporten"],
    "auditor": ["Overzicht", "Logboek", "Checkpoints", "Federatie", "Instanties", "Rapporten"],
    "privacyfunctionaris": ["Overzicht", "Logboek", "Checkpoints"],
}


@pytest.mark.slow
@pytest.mark.parametrize("rol", list(MENSEN))
def test_every_page_works_from_the_keyboard_with_labelled_fields(
    browser: Browser, omgeving: Omgeving, rol: str
) -> None:
    o = omgeving
    ctx = o.context(browser, rol)
    page = ctx.new_page()
    page.goto(f"{o.server.url}/beheer/")
    assert page.locator("nav a").all_inner_texts() == MENU[rol]
    menu = page.eval_on_selector_all("nav a", "els => els.map(e => e.getAttribute('href'))")
    for pad in [p for p in PAGINAS if p in menu or any(h != "/beheer/" and p.startswith(h + "/") for h in menu)]:
        page.goto(f"{o.server.url}{pad}")
        if rol == "beheerder" and pad in ("/beheer/", "/beheer/log", "/beheer/rapporten"):
            schermafdruk(
                page, {"/beheer/": "overzicht", "/beheer/log": "logboek", "/beheer/rapporten": "rapporten"}[pad]
            )
        zonder_label = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.name)"""
        )
        assert zonder_label == [], f"{pad}: fields without a label: {zonder_label}"
        alle = page.evaluate(FOCUSBAAR)
        bereikt: list[str] = []
        for _ in range(3 * len(alle) + 10):  # a date-time field takes a Tab per part
            page.keyboard.press("Tab")
            bereikt.append(page.evaluate("() => document.activeElement.dataset.focus || ''"))
            if set(alle) <= set(bereikt):
                break
        assert bereikt[0] == alle[0], f"{pad}: the first Tab does not reach the skip link"
        assert set(alle) <= set(bereikt), f"{pad}: not reachable by Tab: {sorted(set(alle) - set(bereikt))}"
        # The skip link takes keyboard users past the menu.
        page.goto(f"{o.server.url}{pad}")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "inhoud"
    ctx.close()


# --- behind a proxy, through the WSGI interface ------------------------------------------------------------


def _get(app: Any, pad: str, adres: str, pem: bytes | None) -> tuple[str, bytes]:
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": pad, "QUERY_STRING": "", "REMOTE_ADDR": adres,
        "SERVER_NAME": "test", "SERVER_PORT": "80", "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(b""),
    }  # fmt: skip
    if pem is not None:
        environ["HTTP_X_SSL_CLIENT_CERT"] = urllib.parse.quote(pem.decode())
        environ["HTTP_X_SSL_CLIENT_VERIFY"] = "SUCCESS"
    body = b"".join(app(environ, lambda s, h, *a: status.append(s)))
    return status[0], body


def test_behind_a_proxy_the_forwarded_certificate_is_checked_against_the_operator_ca(tmp_path: Path) -> None:
    from gateway.config import Settings
    from vir.app import create_app

    keten, beheer = tmp_path / "keten", tmp_path / "beheer"
    pki.maak(keten, [A])
    pki.maak(beheer, [], ca_naam="vir-gateway beheer-CA")
    pki.beheerder(beheer, MENSEN["auditor"], "auditor")
    pki.beheerder(beheer, "Ex Auditor", "oud")
    pki.intrekken(beheer, "oud")
    db_url = f"sqlite:///{tmp_path / 'vir.sqlite3'}"
    env = {"VIR_DATA_DIR": str(tmp_path), "VIR_DATABASE_URL": db_url, "VIR_PROXY_ADRESSEN": "10.0.0.9",
           "VIR_TLS_CA": str(keten / "ca.pem"), "VIR_LOG_KEY": str(keten / "log-key.pem"),
           "VIR_LOG_CERT": str(keten / "log.pem"), "VIR_BEHEER_CA": str(beheer / "ca.pem"),
           "VIR_BEHEER_CRL": str(beheer / "crl.pem"), "VIR_VSN_SLEUTEL": str(keten / "vsn.sleutel")}  # fmt: skip
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        for naam, bestand in ((MENSEN["auditor"], "auditor"), ("Ex Auditor", "oud")):
            cert = str(beheer / f"{bestand}.pem")
            assert cli.main(["beheerder", "add", "--naam", naam, "--rol", "auditor", "--certificaat", cert]) == 0
        from gateway.config import from_env

        settings: Settings = from_env()
    app = create_app(settings)
    auditor = (beheer / "auditor.pem").read_bytes()
    voor = log_size(db_url)
    status, body = _get(app, "/beheer/log", "10.0.0.9", auditor)
    assert status.startswith("200") and MENSEN["auditor"].encode() in body
    assert entries(db_url, voor, soort="inzage", actor=MENSEN["auditor"], operatie="beheer log")
    for adres, pem, code in (
        ("10.0.0.66", auditor, "VREEMD-CERTIFICAAT"),  # around the proxy
        ("10.0.0.9", (keten / f"{A}.pem").read_bytes(), "VREEMD-CERTIFICAAT"),  # a chain partner's
        ("10.0.0.9", (beheer / "oud.pem").read_bytes(), "VREEMD-CERTIFICAAT"),  # revoked by the operator CA
        ("10.0.0.9", None, "GEEN-CERTIFICAAT"),
    ):
        eerder = len(entries(db_url, voor, foutcode=f"VIR-BEHEER-{code}"))
        status, _ = _get(app, "/beheer/", adres, pem)
        assert status.startswith("403"), (adres, code)
        assert len(entries(db_url, voor, foutcode=f"VIR-BEHEER-{code}")) == eerder + 1, (adres, code)
    # The operator's certificate does not open the chain-partner service either.
    status, body = _get(app, "/v1/ketenpartner", "10.0.0.9", auditor)
    assert status.startswith("403") and b"VIR-CERTIFICAAT-ONGELDIG" in body
    # Access withdrawn: the certificate no longer names anyone.
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        assert cli.main(["beheerder", "intrekken", MENSEN["auditor"]]) == 0
    status, _ = _get(app, "/beheer/", "10.0.0.9", auditor)
    assert status.startswith("403") and entries(db_url, voor, foutcode="VIR-BEHEER-ONBEKEND-CERTIFICAAT")
    # Without an operator CA the console is closed.
    gesloten = create_app(settings.with_(beheer_ca=None, beheer_crl=None), app.deps.db)
    status, _ = _get(gesloten, "/beheer/", "10.0.0.9", auditor)
    assert status.startswith("403") and entries(db_url, voor, foutcode="VIR-BEHEER-NIET-INGERICHT")
    app.deps.db.dispose()


def test_the_overview_shows_each_peers_cosignature_and_split_views_prominently(omgeving: Omgeving) -> None:
    """Over HTTP: per peer the newest of our checkpoints it cosigned (or "nog geen"), and a split view as an
    alert above the log section."""
    o, url = omgeving, omgeving.server.url
    for systeem, oin in (("MOP", "00000003000000000000"), ("VIS2", "00000004000000000000")):
        o.sql("INSERT INTO peer (systeem, url, oin, actief) VALUES (:s, 'https://peer.invalid/v1/federatie', :oin, :t)",
              s=systeem, oin=oin, t=True)  # fmt: skip

    def overzicht() -> str:
        r = requests.get(f"{url}/beheer/", cert=o.paar("auditor"), verify=str(o.ketenpki / "ca.pem"), timeout=30)
        assert r.status_code == 200, r.text
        return r.text

    def rij(html: str, systeem: str) -> str:
        gevonden = re.search(rf'<tr id="getuige-{systeem}">(.*?)</tr>', html, re.S)
        assert gevonden, html
        return re.sub(r"<[^>]+>|\s+", " ", gevonden.group(1))

    html = overzicht()
    assert "nog geen medeondertekening" not in html
    assert "nog geen" in rij(html, "MOP").split("MOP", 1)[1].split("regels")[0]
    assert 'role="alert" id="gesplitst-' not in html

    o.sql("INSERT INTO cosignatuur (peer, grootte, xml, tijdstip) VALUES ('MOP', 7, :x, '2030-01-02T03:04:05Z')",
          x=b"<cosignatuur/>")  # fmt: skip
    o.sql(
        "INSERT INTO gesplitst_zicht (peer, tijdstip, reden, bekend_grootte, bekend_checkpoint, nieuw_grootte,"
        " nieuw_checkpoint) VALUES ('VIS2', '2030-01-02T03:04:05Z', 'andere wortel', 5, :a, 5, :b)",
        a=b"<a/>",
        b=b"<b/>",
    )
    html = overzicht()
    assert "7 regels" in rij(html, "MOP") and "2030-01-02T03:04:05Z" in rij(html, "MOP")
    assert "nog geen" in rij(html, "VIS2") and "1×" in rij(html, "VIS2")
    alarm = re.search(r'<p class="fout" role="alert" id="gesplitst-VIS2">(.*?)</p>', html, re.S)
    assert alarm and "Gesplitst zicht" in alarm.group(1), html
    assert 'id="gesplitst-MOP"' not in html
    assert html.index('id="gesplitst-VIS2"') < html.index('id="getuigen"')  # above the table, not in it
