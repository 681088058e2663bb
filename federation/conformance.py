"""A conformance kit for peer systems: the behaviours of the federation contract (``wsdl/federatie.wsdl`` and
the rules its schema and ``docs/faults.md`` state), run against another implementation over the wire.

    vir-gateway conformance federatie URL --ontvanger OIN [--systeem S --oin OIN] [--bsn BSN]
                                          [--federatiesleutel F] [--cert C --key K --ca CA]
                                          [--wss-key K --wss-cert C]

The kit speaks as a registered peer of the target (``--systeem``/``--oin``, by default this node's own), with
zeep built from the committed WSDL, over mutual TLS and signed when so configured. It judges only what the
contract promises, never how the target does it:

    ping                    Ping answers the target's system code, addressed back to us (kruisverwijzing)
    need to know            an announcement of a youth the target holds nothing on is answered bekend=false,
                            and a melding on it is stored only by a hub (verwerkt=true), never by another node
    new melding             an unknown (systeem, meldingId) is processed: verwerkt=true
    idempotent receipt      the same version again: verwerkt=false, no fault, no lokaleMatch
    versions                a newer version is processed, an older one after it is ignored
    withdrawal              a withdrawal is processed; a late upsert of an older version stays out
    withdrawal first        a withdrawal before the upsert keeps that upsert out
    unknown system          an afzender that is no peer of the target: Client fault VIR-SYSTEEM-ONBEKEND
    faults with codes       a message for another ontvanger (VIR-ONTVANGER-ONJUIST) and one without a required
                            element (VIR-SCHEMA-ELEMENT-ONTBREEKT): Client faults with the g:fout detail

Youths cross the border as pseudonyms under the federation key (``--federatiesleutel``, default
``VIR_FEDERATIE_SLEUTEL``), as between peers. A node that is no hub stores a melding only on a youth it holds a
melding on itself, so against such a target the melding behaviours need ``--bsn``: a test youth the target's
test environment holds an active melding on; by default (and for the need-to-know check always) a youth in the
BRP test range (999…) is made up. Test meldingen carry a contact card of a made-up organisation and are withdrawn
at the end. Run it against a test environment of the target, never against production.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import requests
import zeep.exceptions
from lxml import etree

from federation.client import soap_dienst
from federation.ondertekening import Ondertekenen
from gateway import ns
from gateway.log.token import TokenSleutel

_BINDING = f"{{{ns.FEDERATIE}}}FederatieSoap11Binding"


@dataclass(frozen=True)
class Fout:
    """A SOAP fault as the contract describes it: faultcode, and the code in ``detail/g:fout``."""

    faultcode: str
    code: str | None

    def __str__(self) -> str:
        return f"fault {self.faultcode} {self.code or '(without g:fout/g:code)'}"


@dataclass
class Uitkomst:
    gedrag: str
    verschillen: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.verschillen

    def regel(self) -> str:
        return f"OK    {self.gedrag}" if self.ok else f"FOUT  {self.gedrag}: {'; '.join(self.verschillen)}"


class _Onbruikbaar(Exception):
    """The target gave no answer the contract allows (no connection, not SOAP, not the schema)."""


def bsn_uit_testbereik() -> str:
    """A BSN in the range the population register keeps for test persons (999…), passing the eleven-test."""
    while True:
        cijfers = [9, 9, 9, *(secrets.randbelow(10) for _ in range(5))]
        rest = sum(c * w for c, w in zip(cijfers, range(9, 1, -1), strict=True)) % 11
        if rest < 10:
            return "".join(map(str, cijfers)) + str(rest)


def _faultcode(tekst: str | None) -> str:
    return (tekst or "").rsplit(":", 1)[-1] or "?"


class Kit:
    """The contract's behaviours against one target."""

    def __init__(
        self,
        url: str,
        *,
        ontvanger: str,
        systeem: str,
        oin: str,
        tls: dict[str, Any] | None = None,
        ondertekening: tuple[bytes | TokenSleutel, bytes] | None = None,
        timeout: float = 20.0,
        jongere: str,
        onbekend: str,
    ) -> None:
        """``jongere``: the pseudonym of the youth the melding behaviours use; ``onbekend``: that of a youth the
        target holds nothing on."""
        self.url = url
        self.ontvanger = ontvanger
        self.systeem = systeem
        self.oin = oin
        self.ondertekenaar = Ondertekenen(*ondertekening) if ondertekening else None
        plugins = [self.ondertekenaar] if self.ondertekenaar else []
        self.svc, self.history = soap_dienst("federatie.wsdl", _BINDING, url, timeout=timeout, plugins=plugins, tls=tls)
        self.session = requests.Session()
        for optie, waarde in (tls or {}).items():
            setattr(self.session, optie, waarde)
        if tls and "verify" in tls:
            self.session.trust_env = False
        self.timeout = timeout
        self.jongere, self.onbekend = jongere, onbekend
        self.hub = False  # as the target's Ping says
        self.kaart = {
            "instantie": {"oin": f"9999{secrets.randbelow(10**16):016d}", "naam": "Conformance"},
            "meldingsbevoegde": {"naam": "Conformance test"},
            "bronsysteem": "vir-gateway conformance",
        }
        self.hoofd = str(uuid.uuid4())  # the melding that ``new melding`` files and later behaviours build on
        self.opruimen: list[tuple[str, int]] = []

    # --- messages ---------------------------------------------------------------------------

    def _sg(self, bericht_id: str, ontvanger: str | None = None) -> dict[str, Any]:
        return {
            "berichtId": bericht_id,
            "tijdstip": datetime.now(UTC),
            "zender": {"oin": self.oin, "applicatie": "vir-gateway conformance"},
            "ontvanger": {"oin": ontvanger or self.ontvanger},
        }

    def _roep(self, operatie: str, verschillen: list[str], ontvanger: str | None = None, **kw: Any) -> Any:
        """One call; a fault is returned as ``Fout``, an answer is checked for its kruisverwijzing."""
        bericht_id = str(uuid.uuid4())
        try:
            antwoord = getattr(self.svc, operatie)(stuurgegevens=self._sg(bericht_id, ontvanger), **kw)
        except zeep.exceptions.Fault as exc:
            code = (
                exc.detail.findtext(f".//{{{ns.GEGEVENS}}}fout/{{{ns.GEGEVENS}}}code")
                if exc.detail is not None
                else None
            )
            return Fout(_faultcode(exc.code), code)
        except requests.RequestException as exc:
            raise _Onbruikbaar(f"{operatie}: no connection ({type(exc).__name__})") from exc
        except (zeep.exceptions.Error, etree.XMLSyntaxError, ValueError, AttributeError) as exc:
            raise _Onbruikbaar(f"{operatie}: no usable answer ({type(exc).__name__})") from exc
        sg = getattr(antwoord, "stuurgegevens", None)
        if sg is None or sg.kruisverwijzing != bericht_id:
            verschillen.append(f"{operatie} answer's kruisverwijzing is not the request's berichtId")
        elif sg.ontvanger is None or sg.ontvanger.oin != self.oin:
            verschillen.append(f"{operatie} answer is not addressed to the sender's OIN")
        return antwoord

    def doorgeven(self, verschillen: list[str], melding_id: str, versie: int, **kw: Any) -> Any:
        return self._roep(
            "MeldingDoorgeven",
            verschillen,
            ontvanger=kw.pop("ontvanger", None),
            afzender=kw.pop("afzender", self.systeem),
            bron={"systeem": self.systeem, "meldingId": melding_id, "versie": versie},
            jongere=kw.pop("jongere", self.jongere),
            contactkaart=self.kaart,
            geplandeEinddatum=date.today() + timedelta(days=200),
        )

    def intrekken(self, verschillen: list[str], melding_id: str, versie: int) -> Any:
        return self._roep(
            "MeldingIntrekken",
            verschillen,
            afzender=self.systeem,
            bron={"systeem": self.systeem, "meldingId": melding_id, "versie": versie},
        )

    # --- the checks -------------------------------------------------------------------------

    @staticmethod
    def _verwerkt(verschillen: list[str], wat: str, antwoord: Any, verwacht: bool) -> None:
        if isinstance(antwoord, Fout):
            verschillen.append(f"{wat}: {antwoord}, expected verwerkt={str(verwacht).lower()}")
            return
        if bool(antwoord.verwerkt) is not verwacht:
            verschillen.append(
                f"{wat}: verwerkt={str(bool(antwoord.verwerkt)).lower()}, expected {str(verwacht).lower()}"
            )
        if not verwacht and getattr(antwoord, "lokaleMatch", None):
            verschillen.append(f"{wat}: lokaleMatch in the answer to a message that was not processed")

    @staticmethod
    def _fout(verschillen: list[str], wat: str, antwoord: Any, code: str) -> None:
        if not isinstance(antwoord, Fout):
            verschillen.append(f"{wat}: answered without a fault, expected Client fault {code}")
        elif (antwoord.faultcode, antwoord.code) != ("Client", code):
            verschillen.append(f"{wat}: {antwoord}, expected fault Client {code}")

    def ping(self, v: list[str]) -> None:
        antwoord = self._roep("Ping", v, afzender=self.systeem)
        if isinstance(antwoord, Fout):
            v.append(f"Ping: {antwoord}")
        elif not antwoord.systeem:
            v.append("Ping answered no system code")
        else:
            self.hub = bool(getattr(antwoord, "hub", False))

    def nodig(self, v: list[str]) -> None:
        antwoord = self._roep("JongereAankondigen", v, afzender=self.systeem, jongere=self.onbekend)
        if isinstance(antwoord, Fout):
            v.append(f"an announcement: {antwoord}, expected bekend=false")
        elif antwoord.bekend:
            v.append("an announcement of a youth the target holds nothing on: bekend=true, expected false")
        melding_id = str(uuid.uuid4())
        self.opruimen.append((melding_id, 100))
        wat = "a melding on that youth " + ("(a hub stores it)" if self.hub else "(no hub: stores nothing)")
        self._verwerkt(v, wat, self.doorgeven(v, melding_id, 1, jongere=self.onbekend), self.hub)

    def nieuw(self, v: list[str]) -> None:
        self.opruimen.append((self.hoofd, 100))
        antwoord = self.doorgeven(v, self.hoofd, 1)
        self._verwerkt(v, "a new melding (version 1)", antwoord, True)
        if not self.hub and not isinstance(antwoord, Fout) and not antwoord.verwerkt:
            v.append("a target that is no hub needs --bsn: a test youth it holds an active melding on")

    def idempotent(self, v: list[str]) -> None:
        self._verwerkt(v, "version 1 again", self.doorgeven(v, self.hoofd, 1), False)

    def versies(self, v: list[str]) -> None:
        self._verwerkt(v, "version 3 after 1", self.doorgeven(v, self.hoofd, 3), True)
        self._verwerkt(v, "version 2 after 3", self.doorgeven(v, self.hoofd, 2), False)

    def intrekking(self, v: list[str]) -> None:
        self._verwerkt(v, "withdrawal (version 4)", self.intrekken(v, self.hoofd, 4), True)
        self._verwerkt(v, "version 3 after the withdrawal", self.doorgeven(v, self.hoofd, 3), False)

    def intrekking_eerst(self, v: list[str]) -> None:
        vooraf = str(uuid.uuid4())
        self.opruimen.append((vooraf, 100))
        antwoord = self.intrekken(v, vooraf, 2)
        if isinstance(antwoord, Fout):
            v.append(f"withdrawal of a melding not received yet: {antwoord}, expected an answer")
        self._verwerkt(v, "version 1 after its withdrawal (version 2)", self.doorgeven(v, vooraf, 1), False)

    def onbekend_systeem(self, v: list[str]) -> None:
        vreemd = f"ONBEKEND{secrets.randbelow(10**8):08d}"
        melding_id = str(uuid.uuid4())
        antwoord = self.doorgeven(v, melding_id, 1, afzender=vreemd)
        self._fout(v, f"afzender {vreemd}", antwoord, "VIR-SYSTEEM-ONBEKEND")
        if not isinstance(antwoord, Fout):
            self.opruimen.append((melding_id, 100))

    def fouten(self, v: list[str]) -> None:
        ander = "00000000000000000001" if self.ontvanger != "00000000000000000001" else "00000000000000000002"
        melding_id = str(uuid.uuid4())
        antwoord = self.doorgeven(v, melding_id, 1, ontvanger=ander)
        self._fout(v, "a message for another ontvanger", antwoord, "VIR-ONTVANGER-ONJUIST")
        if not isinstance(antwoord, Fout):
            self.opruimen.append((melding_id, 100))
        self._fout(v, "a MeldingIntrekken without bron", self._zonder_bron(), "VIR-SCHEMA-ELEMENT-ONTBREEKT")

    def _zonder_bron(self) -> Fout | None:
        """A message the schema refuses, sent as raw XML (zeep would not send it), signed like the others."""
        envelope = etree.fromstring(f"""<soap:Envelope xmlns:soap="{ns.SOAP11_ENV}" xmlns:fed="{ns.FEDERATIE}"
 xmlns:g="{ns.GEGEVENS}"><soap:Body><fed:MeldingIntrekken><fed:stuurgegevens><g:berichtId>{uuid.uuid4()}</g:berichtId>
<g:tijdstip>{datetime.now(UTC).isoformat()}</g:tijdstip><g:zender><g:oin>{self.oin}</g:oin>
<g:applicatie>vir-gateway conformance</g:applicatie></g:zender><g:ontvanger><g:oin>{self.ontvanger}</g:oin>
</g:ontvanger></fed:stuurgegevens><fed:afzender>{self.systeem}</fed:afzender></fed:MeldingIntrekken></soap:Body>
</soap:Envelope>""")
        actie = f"{ns.FEDERATIE}/MeldingIntrekken"
        if self.ondertekenaar is not None:
            operatie = SimpleNamespace(name="MeldingIntrekken", soapaction=actie)
            envelope, _ = self.ondertekenaar.egress(envelope, {}, operatie, {"address": self.url})
        try:
            r = self.session.post(
                self.url,
                data=etree.tostring(envelope),
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{actie}"'},
                timeout=self.timeout,
            )
            doc = etree.fromstring(r.content)
        except requests.RequestException as exc:
            raise _Onbruikbaar(f"no connection ({type(exc).__name__})") from exc
        except etree.XMLSyntaxError as exc:
            raise _Onbruikbaar("the answer to an invalid message is not XML") from exc
        fault = doc.find(f".//{{{ns.SOAP11_ENV}}}Fault")
        if fault is None:
            return None
        return Fout(_faultcode(fault.findtext("faultcode")), fault.findtext(f".//{{{ns.GEGEVENS}}}code"))

    GEDRAGINGEN: tuple[tuple[str, str], ...] = (
        ("ping", "ping"),
        ("need to know", "nodig"),
        ("new melding processed", "nieuw"),
        ("idempotent receipt", "idempotent"),
        ("newer version processed, older ignored", "versies"),
        ("withdrawal processed, late upsert ignored", "intrekking"),
        ("withdrawal before upsert keeps it out", "intrekking_eerst"),
        ("unknown system refused", "onbekend_systeem"),
        ("faults with codes", "fouten"),
    )

    def run(self, melden: Callable[[Uitkomst], None] = lambda _: None) -> list[Uitkomst]:
        """Every behaviour in order (later ones build on the melding of ``new melding``); then the test
        meldingen are withdrawn."""
        uitkomsten = []
        for naam, methode in self.GEDRAGINGEN:
            uitkomst = Uitkomst(naam)
            try:
                getattr(self, methode)(uitkomst.verschillen)
            except _Onbruikbaar as exc:
                uitkomst.verschillen.append(str(exc))
            uitkomsten.append(uitkomst)
            melden(uitkomst)
        for melding_id, versie in self.opruimen:
            with contextlib.suppress(_Onbruikbaar):  # reported above already
                self.intrekken([], melding_id, versie)
        return uitkomsten
