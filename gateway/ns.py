"""Namespace URIs: the contract's, and the standards it uses (SOAP, WS-Addressing, WS-Security), and nothing else."""

GEGEVENS = "urn:nl:vir:gateway:gegevens:v1"
KETENPARTNER = "urn:nl:vir:gateway:ketenpartner:v1"
FEDERATIE = "urn:nl:vir:gateway:federatie:v1"
LOG = "urn:nl:vir:gateway:log:v1"
BRP = "urn:nl:vir:gateway:brp:v1"  # the population register file (vir-gateway brp load)

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
XSD = "http://www.w3.org/2001/XMLSchema"

NSMAP = {"g": GEGEVENS, "kp": KETENPARTNER}
SIGNALEN = "urn:nl:vir:gateway:signalen:v1"

# WS-Addressing 1.0 (W3C), WS-Security 1.0 (OASIS), XML Signature.
WSA = "http://www.w3.org/2005/08/addressing"
WSA_FOUT = "http://www.w3.org/2005/08/addressing/soap/fault"
WSA_ANONIEM = "http://www.w3.org/2005/08/addressing/anonymous"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS = "http://www.w3.org/2000/09/xmldsig#"
