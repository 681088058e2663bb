"""The address a served WSDL gives its clients: the deployment's, not the committed placeholder.

The committed WSDLs say ``http://localhost:8080/v1/…`` in ``soap:address`` and ``soap12:address``.
Generated clients (wsimport, wsdl2h, SoapClient, node-soap, svcutil) call that address unless the
integrator overrides it, so the gateway serves the WSDL with the address it is reached at:

- ``VIR_PUBLIEKE_URL`` when set (a deployment behind a reverse proxy or load balancer knows its public
  name; the request's Host header there is the proxy's upstream name), else
- the scheme and Host header of the request that asked for the WSDL.

Only the ``location`` attribute values of the address elements change; every other byte is the
committed file's. A Host header that is not a plain ``host[:port]`` falls back to the committed
address, so nothing a client sends can inject markup into the document.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

# ``<soap:address location="…"/>`` and ``<soap12:address …>`` as the committed files spell them.
_ADRES = re.compile(rb'(<soap(?:12)?:address\s+location=")([^"]*)(")')
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def basis_url(environ: dict[str, Any], publieke_url: str | None) -> str | None:
    """Scheme, host and optional path prefix that clients should call, or None to keep the committed address."""
    if publieke_url:
        return publieke_url.rstrip("/")
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or ""
    if not host:
        naam, poort = environ.get("SERVER_NAME", ""), environ.get("SERVER_PORT", "")
        standaard = (scheme == "http" and poort == "80") or (scheme == "https" and poort == "443")
        host = naam if standaard or not poort else f"{naam}:{poort}"
    if scheme not in ("http", "https") or not _HOST.fullmatch(host):
        return None
    return f"{scheme}://{host}"


def met_adres(wsdl: bytes, basis: str | None) -> bytes:
    """The WSDL with each address's scheme and host replaced by ``basis`` (its path is kept)."""
    if basis is None:
        return wsdl

    def vervang(m: re.Match[bytes]) -> bytes:
        pad = urlsplit(m.group(2).decode("ascii")).path
        return m.group(1) + (basis + pad).encode("ascii") + m.group(3)

    return _ADRES.sub(vervang, wsdl)


def publieke_url_geldig(url: str) -> bool:
    """``VIR_PUBLIEKE_URL`` must be an absolute http(s) URL without query, fragment or quotes."""
    delen = urlsplit(url)
    return (
        delen.scheme in ("http", "https")
        and bool(delen.netloc)
        and not delen.query
        and not delen.fragment
        and url.isascii()
        and not any(c in url for c in "\"'<>& ")
    )
