"""The client guides' examples (docs/clients/) against a real gateway, on SOAP 1.1 and 1.2.

Each example is generated, built and run the way its guide says: PHP's SoapClient and node-soap read
the served WSDL at run time; JAX-WS (wsimport with the shipped bindings file) and gSOAP (wsdl2h and
soapcpp2) generate their code from the served WSDL once per session. Every example files two meldingen
from two organisations on one youth, reads the match, changes only the planned end date of its first
melding (``MeldingWijzigen`` without ``meldingsbevoegde``), retries a berichtId and reads a fault code; the
test then checks through zeep that the gateway stored what the example says.

The stacks are installed by ``tests/run.sh`` (Debian: php-cli php-soap, gsoap libgsoap-dev g++, jaxws;
npm: ``npm ci`` in docs/clients/node). A missing stack fails the test: it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support import ROOT, SOAP11, SOAP12, A, B, Server, bsn, client, sg, start_server

pytestmark = [pytest.mark.slow, pytest.mark.clients]

CLIENTS = ROOT / "docs" / "clients"
TIMEOUT = 600


def _run(cmd: list[str], cwd: Path, timeout: int = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: bash tests/run.sh installs the client stacks")


def _built(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("clients"), None)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def wsdl(gateway: Server) -> str:
    return gateway.endpoint + "?wsdl"


def php(wsdl: str, tmp: Path) -> list[str]:
    _need("php")
    modules = _run(["php", "-m"], tmp).stdout.split()
    if "soap" not in modules:
        pytest.fail("PHP has no soap extension: install php-soap")
    return ["php", str(CLIENTS / "php" / "voorbeeld.php")]


def node(wsdl: str, tmp: Path) -> list[str]:
    _need("node")
    if not (CLIENTS / "node" / "node_modules" / "soap").is_dir():
        pytest.fail("node-soap is not installed: npm ci in docs/clients/node (tests/run.sh does)")
    return ["node", str(CLIENTS / "node" / "voorbeeld.js")]


def java(wsdl: str, tmp: Path) -> list[str]:
    """wsimport from the served WSDL with the guide's bindings file, then javac, as README.md says."""
    _need("wsimport", "javac", "java")
    src, classes = tmp / "src", tmp / "classes"
    for d in (src, classes, tmp / "out"):
        d.mkdir()
    bindings = str(CLIENTS / "java" / "bindings.xml")
    cmd = ["wsimport", "-quiet", "-extension", "-b", bindings, "-Xnocompile", "-s", str(src), "-d", str(tmp / "out")]
    _built(_run([*cmd, wsdl], tmp), "wsimport")
    sources = [str(p) for p in src.rglob("*.java")] + [str(CLIENTS / "java" / "Voorbeeld.java")]
    _built(_run(["javac", "-nowarn", "-cp", "/usr/share/java/*", "-d", str(classes), *sources], tmp), "javac")
    return ["java", "-cp", f"{classes}:/usr/share/java/*", "Voorbeeld"]


def gsoap(wsdl: str, tmp: Path) -> list[str]:
    """wsdl2h and soapcpp2 from the served WSDL with the guide's typemap, then g++, as README.md says."""
    _need("wsdl2h", "soapcpp2", "g++")
    typemap = str(CLIENTS / "gsoap" / "typemap.dat")
    _built(_run(["wsdl2h", "-t", typemap, "-o", "ketenpartner.h", wsdl], tmp), "wsdl2h")
    _built(_run(["soapcpp2", "-j", "-C", "-x", "-I/usr/share/gsoap/import", "ketenpartner.h"], tmp), "soapcpp2")
    sources = [str(CLIENTS / "gsoap" / "voorbeeld.cpp"), "soapC.cpp", "soapKetenpartnerSoap11BindingProxy.cpp"]
    _built(_run(["g++", "-O0", "-o", "voorbeeld", *sources, "-I.", "-lgsoap++"], tmp), "g++")
    return [str(tmp / "voorbeeld")]


STACKS: dict[str, Callable[[str, Path], list[str]]] = {"php": php, "node": node, "java": java, "gsoap": gsoap}


@pytest.fixture(scope="module")
def built(wsdl: str, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[str]]:
    """Each stack's command line, generated and compiled once (on first use)."""
    cache: dict[str, list[str]] = {}

    def get(stack: str) -> list[str]:
        if stack not in cache:
            cache[stack] = STACKS[stack](wsdl, tmp_path_factory.mktemp(stack))
        return cache[stack]

    return get


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize("stack", list(STACKS))
def test_example_round_trips(
    stack: str, version: str, built: Callable[[str], list[str]], gateway: Server, wsdl: str, tmp_path: Path
) -> None:
    youth = bsn()
    # Loopback only: a proxy from the environment (node-soap's axios honours one) must not be used.
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    result = subprocess.run(
        [*built(stack), wsdl, youth, version],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, f"{stack} {version}:\n{result.stdout}\n{result.stderr}"
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert lines["fault"] == "VIR-MELDING-BESTAAT-AL"
    assert lines["envelope"] == (SOAP12 if version == "1.2" else SOAP11)
    assert lines["match"].endswith(f" with {A}")
    assert lines["retry"].startswith(lines["melding B"])
    # What the example says it did is what the gateway stored: B sees exactly one match, with A.
    seen = client(gateway).MatchesOpvragen(stuurgegevens=sg(B), meldingId=lines["melding B"])
    assert seen.totaal == 1
    assert [p.instantie.oin for p in seen.match[0].partij] == [A]
    assert seen.match[0].matchId == lines["match"].split()[0]
    # The end date sent alone arrived: a date a few months ahead, echoed in the answer and stored on A's melding.
    antwoord, gestuurd = lines["einddatum A"].split(", sent ")
    assert antwoord == gestuurd
    einddatum = date.fromisoformat(gestuurd)
    assert timedelta(days=28) <= einddatum - date.today() <= timedelta(days=365)
    eigen = client(gateway).EigenMeldingenOpvragen(stuurgegevens=sg(A), status="actief", paginaGrootte=500)
    assert [m.geplandeEinddatum for m in eigen.melding if m.meldingId == lines["melding A"]] == [einddatum]
