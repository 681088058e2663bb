"""Every error the gateway reports, and the one table that turns them into SOAP faults.

    GatewayError                      code, message (nl, en), xpath or field, context
    ├── ClientError                   faultcode Client: the request is wrong; resending it unchanged fails again
    │   ├── TransportError            HTTP method, content type, size
    │   ├── XmlError                  not well-formed, or forbidden constructs (DTD, entities)
    │   ├── SchemaError               not valid against the committed XSDs (with the XPath)
    │   └── RuleError                 valid XML that breaks a business rule
    └── ServerError                   faultcode Server: our fault; carries a correlation id for the logs
        └── StoreError                the database did not answer

Code that knows nothing of the contract (the index, the domain) names the field of the request it refuses
(``veld="meldingId"``); the service that read the request turns it into the contract's XPath
(``in_bericht``), so a fault always carries the XPath.

Codes are stable strings (``VIR-…``) and are listed in ``docs/faults.md``; ``FAULTS`` is the single
source for faultcode and messages. Third-party exceptions (lxml, SQLAlchemy) never leave the gateway:
they are caught at the package boundary and raised again as one of these, ``from`` the original.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultSpec:
    faultcode: str  # "Client", "Server" or "MustUnderstand" (SOAP's own code for an unprocessed header)
    nl: str
    en: str


FAULTS: dict[str, FaultSpec] = {
    # transport
    "VIR-HTTP-METHODE": FaultSpec(
        "Client", "Alleen POST is toegestaan voor SOAP-berichten.", "Only POST is allowed for SOAP messages."
    ),
    "VIR-HTTP-CONTENTTYPE": FaultSpec(
        "Client",
        "Content-Type moet text/xml (SOAP 1.1) of application/soap+xml (SOAP 1.2) zijn.",
        "Content-Type must be text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2).",
    ),
    "VIR-BERICHT-TE-GROOT": FaultSpec(
        "Client", "Het bericht is groter dan toegestaan.", "The message is larger than allowed."
    ),
    # XML
    "VIR-XML-ONGELDIG": FaultSpec(
        "Client", "Het bericht is geen welgevormde XML.", "The message is not well-formed XML."
    ),
    "VIR-XML-DTD-VERBODEN": FaultSpec(
        "Client",
        "DTD's, entiteiten en verwerkingsinstructies zijn niet toegestaan.",
        "DTDs, entities and processing instructions are not allowed.",
    ),
    "VIR-SOAP-ENVELOPPE": FaultSpec(
        "Client", "Het bericht is geen geldige SOAP-enveloppe.", "The message is not a valid SOAP envelope."
    ),
    "VIR-SOAP-MUSTUNDERSTAND": FaultSpec(
        "MustUnderstand",
        "Een header met mustUnderstand wordt door deze dienst niet verwerkt.",
        "A header marked mustUnderstand is not processed by this service.",
    ),
    "VIR-OPERATIE-ONBEKEND": FaultSpec(
        "Client", "Onbekende operatie of naamruimte.", "Unknown operation or namespace."
    ),
    # schema
    "VIR-SCHEMA-ELEMENT-ONTBREEKT": FaultSpec(
        "Client", "Een verplicht element ontbreekt.", "A required element is missing."
    ),
    "VIR-SCHEMA-ELEMENT-ONVERWACHT": FaultSpec(
        "Client",
        "Een element staat hier niet in het schema (naam, naamruimte of volgorde).",
        "An element is not allowed here by the schema (name, namespace or order).",
    ),
    "VIR-SCHEMA-WAARDE-ONGELDIG": FaultSpec(
        "Client", "Een waarde voldoet niet aan het schema.", "A value does not conform to the schema."
    ),
    "VIR-SCHEMA-ONGELDIG": FaultSpec(
        "Client", "Het bericht voldoet niet aan het schema.", "The message does not conform to the schema."
    ),
    # business rules
    "VIR-ONTVANGER-ONJUIST": FaultSpec(
        "Client", "Het bericht is niet aan deze verwijsindex gericht.", "The message is not addressed to this index."
    ),
    "VIR-INSTANTIE-ONBEKEND": FaultSpec(
        "Client",
        "De zender is geen geregistreerde, actieve instantie.",
        "The sender is not a registered, active instantie.",
    ),
    "VIR-BSN-ONGELDIG": FaultSpec("Client", "Het BSN voldoet niet aan de elfproef.", "The BSN fails the eleven-test."),
    "VIR-JONGERE-TE-OUD": FaultSpec("Client", "De jongere is 23 jaar of ouder.", "The youth is 23 years or older."),
    "VIR-JONGERE-OVERLEDEN": FaultSpec(
        "Client",
        "Volgens de basisregistratie personen is de jongere overleden.",
        "According to the population register the youth has died.",
    ),
    "VIR-GEBOORTEDATUM-TOEKOMST": FaultSpec(
        "Client", "De geboortedatum ligt in de toekomst.", "The birth date lies in the future."
    ),
    "VIR-EINDDATUM-ONGELDIG": FaultSpec(
        "Client",
        "De geplande einddatum moet na vandaag liggen en binnen de looptijd van een melding van deze instantie.",
        "The planned end date must be after today and within the melding lifetime of this instantie.",
    ),
    "VIR-MELDING-BESTAAT-AL": FaultSpec(
        "Client",
        "Deze instantie heeft al een actieve melding op deze jongere.",
        "This instantie already has an active melding on this youth.",
    ),
    "VIR-MELDING-ONBEKEND": FaultSpec(
        "Client", "Er is geen melding met dit meldingId.", "There is no melding with this meldingId."
    ),
    "VIR-MELDING-NIET-EIGEN": FaultSpec(
        "Client", "Deze melding is van een andere instantie.", "This melding belongs to another instantie."
    ),
    "VIR-MELDING-NIET-ACTIEF": FaultSpec("Client", "Deze melding is al beëindigd.", "This melding has already ended."),
    "VIR-VOLGNUMMER-ONGELDIG": FaultSpec(
        "Client", "Dit volgnummer is nog niet uitgegeven.", "This sequence number has not been issued yet."
    ),
    "VIR-BERICHTID-HERGEBRUIKT": FaultSpec(
        "Client",
        "Dit berichtId is al gebruikt voor een ander bericht.",
        "This berichtId was already used for a different message.",
    ),
    "VIR-ONTVANGSTBEWIJS-ONBEKEND": FaultSpec(
        "Client",
        "Dit ontvangstbewijs hoort niet bij een bericht van deze zender.",
        "This receipt does not belong to a message of this sender.",
    ),
    "VIR-SYSTEEM-ONBEKEND": FaultSpec(
        "Client",
        "Dit verwijsindexsysteem is geen geconfigureerde partner van dit knooppunt.",
        "This verwijsindex system is not a configured peer of this node.",
    ),
    "VIR-BSN-NIET-TOEGESTAAN": FaultSpec(
        "Client",
        "Deze instantie mag geen BSN gebruiken; identificeer de jongere zonder BSN.",
        "This instantie may not use the BSN; identify the youth without a BSN.",
    ),
    "VIR-AFSCHERMEN-NIET-TOEGESTAAN": FaultSpec(
        "Client",
        "Het profiel van deze instantie staat afgeschermd melden niet toe.",
        "This instantie's profile does not allow shielded meldingen.",
    ),
    "VIR-MATCH-ONBEKEND": FaultSpec(
        "Client",
        "Er is geen actieve match met dit matchId waarin deze instantie een actieve melding heeft.",
        "There is no active match with this matchId in which this instantie has an active melding.",
    ),
    "VIR-REGIEVOERDER-NIET-TOEGESTAAN": FaultSpec(
        "Client",
        "Deze instantie is geen (zichtbare) partij van de match of mag volgens haar profiel geen regie voeren.",
        "This instantie is not a (visible) party of the match, or its profile does not allow it to coordinate.",
    ),
    "VIR-AFSTEMMING-DATUM-ONGELDIG": FaultSpec(
        "Client",
        "De datum van de afstemming ligt in de toekomst of vóór het ontstaan van de match.",
        "The date of the contact lies in the future or before the match arose.",
    ),
    # designated professionals (gateway/index/bevoegden.py)
    "VIR-MELDINGSBEVOEGDE-NIET-AANGEWEZEN": FaultSpec(
        "Client",
        "Deze medewerker is door de instantie niet aangewezen als meldingsbevoegde.",
        "This professional has not been designated by the instantie to file meldingen.",
    ),
    "VIR-MELDINGSBEVOEGDE-ONTBREEKT": FaultSpec(
        "Client",
        "Bij gestart en overgedragen is de meldingsbevoegde verplicht.",
        "The meldingsbevoegde is required for gestart and overgedragen.",
    ),
    "VIR-GEBRUIKER-ONTBREEKT": FaultSpec(
        "Client",
        "Dit verzoek toont matches: noem in stuurgegevens/gebruiker de medewerker namens wie het systeem leest.",
        "This request shows matches: name in stuurgegevens/gebruiker the professional on whose behalf the system"
        " reads.",
    ),
    # identity
    "VIR-ZENDER-ONJUIST": FaultSpec(
        "Client",
        "De zender in de stuurgegevens is niet de instantie van het clientcertificaat.",
        "The sender in stuurgegevens is not the instantie of the client certificate.",
    ),
    "VIR-CERTIFICAAT-ONGELDIG": FaultSpec(
        "Client",
        "Het clientcertificaat ontbreekt, is niet geldig, is ingetrokken of bevat geen OIN.",
        "The client certificate is missing, not valid, revoked, or carries no OIN.",
    ),
    "VIR-CERTIFICAAT-OIN-ONGELDIG": FaultSpec(
        "Client",
        "Het serialNumber van het clientcertificaat is geen OIN in PKIoverheid-vorm (precies 20 cijfers).",
        "The client certificate's serialNumber is not an OIN in PKIoverheid form (exactly 20 digits).",
    ),
    "VIR-CERTIFICAAT-STATUS-ONBEKEND": FaultSpec(
        "Client",
        "Of het clientcertificaat is ingetrokken is niet vast te stellen: geen geldige, actuele CRL van zijn CA.",
        "Whether the client certificate is revoked cannot be established: no valid, current CRL of its CA.",
    ),
    "VIR-PROXY-NIET-VERTROUWD": FaultSpec(
        "Client",
        "Verzoeken komen alleen via de geconfigureerde TLS-proxy binnen.",
        "Requests are accepted only through the configured TLS proxy.",
    ),
    # peers (federation/toegang.py): authenticated separately from chain partners
    "VIR-PEER-ONBEKEND": FaultSpec(
        "Client",
        "De federatiedienst is alleen voor geregistreerde verwijsindexsystemen; deze OIN is er geen.",
        "The federation service is for registered verwijsindex systems only; this OIN is not one.",
    ),
    "VIR-PEER-GESCHORST": FaultSpec(
        "Client",
        "Dit verwijsindexsysteem is geschorst of niet actief.",
        "This verwijsindex system is suspended or not active.",
    ),
    "VIR-FEDERATIE-KETENPARTNER": FaultSpec(
        "Client",
        "Een ketenpartner kan de federatiedienst niet gebruiken.",
        "A chain partner cannot use the federation service.",
    ),
    "VIR-KETENPARTNER-PEER": FaultSpec(
        "Client",
        "Een verwijsindexsysteem kan de ketenpartnerdienst niet gebruiken.",
        "A verwijsindex system cannot use the chain-partner service.",
    ),
    "VIR-AFZENDER-ONJUIST": FaultSpec(
        "Client",
        "De afzender is niet het systeem van het geauthenticeerde verwijsindexsysteem.",
        "The afzender is not the system of the authenticated verwijsindex system.",
    ),
    "VIR-BRON-ONJUIST": FaultSpec(
        "Client",
        "Een verwijsindexsysteem spreekt alleen voor zijn eigen meldingen, niet voor die van een gekoppeld systeem.",
        "A verwijsindex system speaks for its own meldingen only, not for those of a coupled system.",
    ),
    "VIR-KAART-OIN-LOKAAL": FaultSpec(
        "Client",
        "De contactkaart noemt de OIN van een instantie van dit knooppunt; een ander systeem spreekt niet voor haar.",
        "The contact card names the OIN of an instantie of this node; another system does not speak for it.",
    ),
    "VIR-PSEUDONIEM-VERSIE": FaultSpec(
        "Client",
        "Het pseudoniem van de jongere is gemaakt met een versie van de federatiesleutel die dit knooppunt niet "
        "gebruikt.",
        "The youth's pseudonym was made with a version of the federation key this node does not use.",
    ),
    # witnesses (federation/getuige_dienst.py; docs/getuigen.md)
    "VIR-CHECKPOINT-SLEUTEL-ONBEKEND": FaultSpec(
        "Client",
        "Voor dit verwijsindexsysteem is geen certificaat van zijn checkpointsleutel geregistreerd.",
        "No certificate of this verwijsindex system's checkpoint key is registered.",
    ),
    "VIR-CHECKPOINT-ONGELDIG": FaultSpec(
        "Client",
        "Het checkpoint is niet ondertekend met de geregistreerde checkpointsleutel van de afzender.",
        "The checkpoint is not signed with the sender's registered checkpoint key.",
    ),
    "VIR-CHECKPOINT-GESPLITST": FaultSpec(
        "Client",
        "Het checkpoint is niet consistent met een eerder medeondertekend checkpoint van dit systeem "
        "(gesplitst beeld); dit is vastgelegd en aan de beheerder gemeld.",
        "The checkpoint is not consistent with one of this system's checkpoints cosigned before "
        "(a split view); this was recorded and reported to the operator.",
    ),
    # WS-Security and WS-Addressing (gateway/wss.py; docs/wss.md)
    "VIR-WSS-ONTBREEKT": FaultSpec(
        "Client",
        "Het bericht heeft geen WS-Security-header met een handtekening.",
        "The message has no WS-Security header with a signature.",
    ),
    "VIR-WSS-HANDTEKENING-ONGELDIG": FaultSpec(
        "Client",
        "De handtekening van het bericht klopt niet: het bericht is na ondertekening gewijzigd.",
        "The message signature does not verify: the message was changed after signing.",
    ),
    "VIR-WSS-ONVOLLEDIG": FaultSpec(
        "Client",
        "De handtekening dekt niet precies de Body, de Timestamp en de WS-Addressing-headers op hun plaats.",
        "The signature does not cover exactly the Body, the Timestamp and the WS-Addressing headers in place.",
    ),
    "VIR-WSS-TIJDSTEMPEL": FaultSpec(
        "Client",
        "De Timestamp ontbreekt, is verlopen of valt buiten het toegestane tijdvenster.",
        "The Timestamp is missing, has expired or lies outside the allowed time window.",
    ),
    "VIR-WSS-ALGORITME": FaultSpec(
        "Client",
        "De handtekening gebruikt een niet toegestaan algoritme (vereist: RSA- of ECDSA-SHA256, exclusieve C14N).",
        "The signature uses an algorithm that is not allowed (required: RSA or ECDSA SHA-256, exclusive C14N).",
    ),
    "VIR-WSS-CERTIFICAAT": FaultSpec(
        "Client",
        "Het certificaat van de handtekening is niet het geregistreerde certificaat van deze instantie.",
        "The signing certificate is not the certificate registered for this instantie.",
    ),
    "VIR-WSA-ONGELDIG": FaultSpec(
        "Client",
        "De WS-Addressing-headers ontbreken of komen dubbel voor (MessageID, Action en To zijn verplicht).",
        "The WS-Addressing headers are missing or duplicated (MessageID, Action and To are required).",
    ),
    "VIR-WSA-HERHAALD": FaultSpec(
        "Client",
        "Dit bericht (MessageID) is al eerder ontvangen.",
        "This message (MessageID) has been received before.",
    ),
    # server
    "VIR-INTERN": FaultSpec(
        "Server",
        "Interne fout; vermeld het correlatieId bij contact met de beheerder.",
        "Internal error; quote the correlation id when contacting the operator.",
    ),
    "VIR-OPSLAG-NIET-BESCHIKBAAR": FaultSpec(
        "Server",
        "De opslag is tijdelijk niet beschikbaar; probeer het later opnieuw met hetzelfde berichtId.",
        "The store is temporarily unavailable; retry later with the same berichtId.",
    ),
}


class GatewayError(Exception):
    """Root of all gateway errors. ``code`` is a key of ``FAULTS``."""

    code = "VIR-INTERN"

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        xpath: str | None = None,
        veld: str | None = None,
        detail_en: str | None = None,
        **context: object,
    ) -> None:
        if code is not None:
            self.code = code
        if self.code not in FAULTS:
            raise ValueError(f"undocumented fault code {self.code}")
        self.detail = detail
        self.detail_en = detail_en if detail_en is not None else detail
        self.xpath = xpath
        self.veld = veld  # the refused field, relative to the request element ("meldingId", "jongere")
        self.context = context
        super().__init__(str(self))

    def in_bericht(self, element: str, prefix: str) -> GatewayError:
        """Place the refused field in the request: ``veld`` under the XPath ``element`` (the request element,
        or an item of it), each step in the service's namespace ``prefix``. An XPath already known stays."""
        if self.xpath is None and self.veld is not None:
            self.xpath = "/".join([element, *(f"{prefix}:{stap}" for stap in self.veld.split("/"))])
        return self

    @property
    def spec(self) -> FaultSpec:
        return FAULTS[self.code]

    @property
    def message_nl(self) -> str:
        return f"{self.spec.nl} {self.detail}".strip()

    @property
    def message_en(self) -> str:
        return f"{self.spec.en} {self.detail_en}".strip()

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.message_en}"]
        if self.xpath:
            parts.append(f"Path: {self.xpath}")
        elif self.veld:
            parts.append(f"Field: {self.veld}")
        parts.extend(f"{k}: {v}" for k, v in self.context.items())
        return "\n".join(parts)


class ClientError(GatewayError):
    code = "VIR-SCHEMA-ONGELDIG"


class TransportError(ClientError):
    code = "VIR-HTTP-CONTENTTYPE"


class XmlError(ClientError):
    code = "VIR-XML-ONGELDIG"


class SchemaError(ClientError):
    code = "VIR-SCHEMA-ONGELDIG"


class RuleError(ClientError):
    code = "VIR-INSTANTIE-ONBEKEND"


class ServerError(GatewayError):
    code = "VIR-INTERN"


class StoreError(ServerError):
    code = "VIR-OPSLAG-NIET-BESCHIKBAAR"
