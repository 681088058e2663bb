"""WS-Security and WS-Addressing for Digikoppeling WUS (profile 2W-be-S): verify requests, sign responses.

A chain partner signs every request with the key of its PKIoverheid certificate (OASIS WSS 1.0/1.1,
X.509 token profile): one ``ds:Signature`` in the ``wsse:Security`` header covers the SOAP Body, the
``wsu:Timestamp`` and every WS-Addressing header. ``verifieer`` accepts such a request only if

* the signature uses the algorithms of the profile (RSA-SHA256 or ECDSA-SHA256, SHA-256/384/512
  digests, exclusive C14N), never SHA-1;
* the key that signed it is the certificate registered for the sending instantie, and the message
  itself names that certificate (BinarySecurityToken, KeyIdentifier or X509Data);
* the signature covers exactly the Body, the Timestamp and each WS-Addressing header *at the places
  where a SOAP processor reads them*: the element a reference resolves to must be the very element
  (by identity in the parsed tree) that is the Envelope's Body, the Security header's Timestamp or a
  direct WS-Addressing child of the Header. That is what defeats XML signature wrapping: a signed
  Body moved into a header with a new Body in its place, a second element with the same Id, or a
  reference to a copy all resolve to something that is not where Spyne will look;
* the Timestamp is within the window, and the MessageID was not seen before.

The cryptography is signxml's ``XMLVerifier``, told which algorithms, which certificate and where the
signature lives; the structural checks are ours, because signxml reports *what* was signed (as a
canonical copy) but not *where* it stood. Its canonical bytes are compared with those of the element
we found in place, so both must agree on the element.

``onderteken`` is the other direction: it adds WS-Addressing headers and a Security header (token,
Timestamp, signature) to a response, in a form that xmlsec1, zeep (python-xmlsec) and ``verifieer``
accept. ``docs/wss.md`` has the rules, the codes and an auditor's ``xmlsec1`` command line.
"""

from gateway.ns import DS, WSA, WSA_ANONIEM, WSSE, WSU
from gateway.wss.basis import FOUTEN, Verificatie, WssFout
from gateway.wss.onderteken import onderteken
from gateway.wss.verifieer import verifieer

__all__ = ["DS", "FOUTEN", "WSA", "WSA_ANONIEM", "WSSE", "WSU", "Verificatie", "WssFout", "onderteken", "verifieer"]
