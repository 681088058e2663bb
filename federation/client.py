"""The client for peer systems (``forward``): zeep built from the committed federatie WSDL, with
timeouts and connection reuse. Every failure leaves this module as ``DeliveryError``."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport

from gateway import ns
from gateway.contract import wsdl_path

_BINDING = f"{{{ns.FEDERATIE}}}FederatieSoap11Binding"


class DeliveryError(Exception):
    """A delivery that did not succeed; ``str`` says why (no library text beyond the class)."""


def soap_dienst(
    wsdl: str, binding: str, url: str, *, timeout: float, plugins: list[Any] | None, tls: dict[str, Any] | None
) -> tuple[Any, HistoryPlugin]:
    """A zeep service from a committed WSDL, with timeouts, connection reuse and our TLS options (``cert``,
    ``verify``); its history plugin runs last, so it holds what was actually sent (signed, if so)."""
    session = requests.Session()
    for optie, waarde in (tls or {}).items():
        setattr(session, optie, waarde)
    if tls and "verify" in tls:
        session.trust_env = False  # else a REQUESTS_CA_BUNDLE in the environment overrides our CA
    history = HistoryPlugin()
    transport = Transport(session=session, timeout=timeout, operation_timeout=timeout)
    client = zeep.Client(str(wsdl_path(wsdl)), transport=transport, plugins=[*(plugins or []), history])
    return client.create_service(binding, url), history


@contextmanager
def bezorging(onbereikbaar: str) -> Iterator[None]:
    """Whatever zeep or requests raise inside becomes a ``DeliveryError`` saying why."""
    try:
        yield
    except zeep.exceptions.Fault as exc:
        code = exc.detail.findtext(f".//{{{ns.GEGEVENS}}}code") if exc.detail is not None else None
        raise DeliveryError(f"fault {code or exc.code}") from exc
    except requests.Timeout as exc:
        raise DeliveryError("timeout") from exc
    except requests.ConnectionError as exc:
        raise DeliveryError(onbereikbaar) from exc
    except requests.RequestException as exc:
        raise DeliveryError(f"http error {type(exc).__name__}") from exc
    except (zeep.exceptions.Error, etree.XMLSyntaxError, ValueError, AttributeError) as exc:
        raise DeliveryError(f"unusable answer ({type(exc).__name__})") from exc


def verzonden_enveloppen(history: HistoryPlugin) -> tuple[bytes, bytes]:
    """The last request and answer as bytes (empty where there was none)."""
    sent, received = history.last_sent, history.last_received
    return (
        etree.tostring(sent["envelope"]) if sent else b"",
        etree.tostring(received["envelope"]) if received else b"",
    )


# The operation that delivers each kind of outbox row.
OPERATIES = {
    "doorgeven": "MeldingDoorgeven",
    "intrekken": "MeldingIntrekken",
    "aankondigen": "JongereAankondigen",
    "regie": "RegieDoorgeven",
    "gezin": "GezinsmatchDoorgeven",
}


def _kaart(k: dict[str, Any]) -> dict[str, Any]:
    """An outbox contact card (``Contactkaart.naar_json``) as zeep takes it."""
    return {
        "instantie": {"oin": k["oin"], "naam": k["naam"], "vestiging": k["vestiging"]},
        "meldingsbevoegde": k["meldingsbevoegde"],
        "bronsysteem": k["bronsysteem"],
    }


def _regie(staat: dict[str, Any] | None) -> dict[str, Any] | None:
    """The outbox's coordination (the message's shape, JSON values) as zeep takes it."""
    if not staat:
        return None
    uit = dict(staat)
    if "gekozen" in uit:
        uit["gekozen"] = datetime.fromisoformat(uit["gekozen"])
    if "laatsteAfstemming" in uit:
        uit["laatsteAfstemming"] = {
            **uit["laatsteAfstemming"],
            "datum": date.fromisoformat(uit["laatsteAfstemming"]["datum"]),
        }
    return uit


@dataclass(frozen=True)
class Verzonden:
    verzoek: bytes
    antwoord: bytes
    verwerkt: bool


class PeerClient:
    def __init__(
        self,
        url: str,
        peer_oin: str,
        *,
        eigen_systeem: str,
        eigen_oin: str,
        timeout: float,
        plugins: list[Any] | None = None,
        tls: dict[str, Any] | None = None,
    ) -> None:
        self.svc, self.history = soap_dienst("federatie.wsdl", _BINDING, url, timeout=timeout, plugins=plugins, tls=tls)
        self.peer_oin = peer_oin
        self.systeem = eigen_systeem
        self.oin = eigen_oin

    def _sg(self, bericht_id: str) -> dict[str, Any]:
        return {
            "berichtId": bericht_id,
            "tijdstip": datetime.now(UTC),
            "zender": {"oin": self.oin, "applicatie": f"vir-gateway {self.systeem}"},
            "ontvanger": {"oin": self.peer_oin},
        }

    def forward(self, soort: str, inhoud: dict[str, Any], bericht_id: str | None = None) -> Verzonden:
        """Deliver one outbox item; idempotent at the receiver."""
        bid = bericht_id or str(uuid.uuid4())
        with bezorging("peer unreachable"):
            if soort == "doorgeven":
                r = self.svc.MeldingDoorgeven(
                    stuurgegevens=self._sg(bid),
                    afzender=self.systeem,
                    bron=inhoud["bron"],
                    jongere=inhoud["jongere"],
                    contactkaart=_kaart(inhoud["contactkaart"]),
                    geplandeEinddatum=date.fromisoformat(inhoud["geplandeEinddatum"]),
                    regie=_regie(inhoud.get("regie")),
                )
            elif soort == "intrekken":
                r = self.svc.MeldingIntrekken(stuurgegevens=self._sg(bid), afzender=self.systeem, bron=inhoud["bron"])
            elif soort == "gezin":
                r = self.svc.GezinsmatchDoorgeven(
                    stuurgegevens=self._sg(bid),
                    afzender=self.systeem,
                    meldingId=inhoud["meldingId"],
                    tijdstip=datetime.fromisoformat(inhoud["tijdstip"]),
                    partij=[_kaart(k) for k in inhoud["kaarten"]],
                )
            elif soort == "regie":
                r = self.svc.RegieDoorgeven(
                    stuurgegevens=self._sg(bid),
                    afzender=self.systeem,
                    jongere=inhoud["jongere"],
                    regie=_regie(inhoud["regie"]),
                )
            elif soort == "aankondigen":
                a = self.svc.JongereAankondigen(
                    stuurgegevens=self._sg(bid), afzender=self.systeem, jongere=inhoud["jongere"]
                )
                verzoek, antwoord = verzonden_enveloppen(self.history)
                return Verzonden(verzoek, antwoord, bool(a.bekend))
            else:
                raise DeliveryError(f"unknown delivery kind {soort!r}")
        verzoek, antwoord = verzonden_enveloppen(self.history)
        return Verzonden(verzoek, antwoord, bool(getattr(r, "verwerkt", True)))

    def checkpoint_getuigen(self, checkpoint: bytes, vorige: int, bewijs: list[bytes], bericht_id: str) -> Any:
        """Ask the peer to cosign our checkpoint (``federation.getuige_zender``); its answer as zeep gives it."""
        with bezorging("peer unreachable"):
            return self.svc.CheckpointGetuigen(
                stuurgegevens=self._sg(bericht_id),
                afzender=self.systeem,
                checkpoint=checkpoint,
                vorigeGrootte=vorige,
                consistentiebewijs=[base64.b64encode(h).decode() for h in bewijs],
            )

    def enveloppen(self) -> tuple[bytes, bytes]:
        """The last request and answer as sent and received (for the log)."""
        return verzonden_enveloppen(self.history)
