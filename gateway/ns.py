"""Namespace URIs of the contract, and nothing else."""

GEGEVENS = "urn:nl:vir:gateway:gegevens:v1"
KETENPARTNER = "urn:nl:vir:gateway:ketenpartner:v1"
FEDERATIE = "urn:nl:vir:gateway:federatie:v1"
LOG = "urn:nl:vir:gateway:log:v1"

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
XSD = "http://www.w3.org/2001/XMLSchema"

NSMAP = {"g": GEGEVENS, "kp": KETENPARTNER}
SIGNALEN = "urn:nl:vir:gateway:signalen:v1"
