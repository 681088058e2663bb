"""The attack corpus (tests/data/attacks/corpus.toml) against a live gateway.

Every hostile request must be refused with its documented SOAP fault, within a time bound, without
library text in the answer and without changing the store, while a parallel client keeps getting normal
answers from the same server. The server's memory (RSS of the whole gunicorn process tree) is measured
before and after the corpus, and before and after a flood of the largest element bomb, so that memory kept
per hostile request shows. `pytest -s` prints the figures; they are also written to memory.json in the
test's temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

from gateway.errors import FAULTS
from tests.support import (
    GATEWAY_OIN,
    NS,
    ROOT,
    SOAP11,
    SOAP12,
    A,
    Server,
    bsn,
    client,
    sg,
    snapshot,
)

CORPUS = ROOT / "tests" / "data" / "attacks"
MANIFEST = CORPUS / "corpus.toml"
SECONDS = 5.0  # every attack is answered within this
PING_SECONDS = 10.0  # …and so is every call of the parallel client
# Bounds on the growth of the server's RSS (all processes), after each worker has parsed the largest element
# bomb once (the allocator keeps that peak; see ``Campaign``).
CORPUS_MIB = 50
FLOOD_MIB = 50  # over FLOOD element bombs in a row
FLOOD = 24  # element bombs in a row for the flood
BOMB = "veel-elementen"  # the largest parse a request can cause: primes every worker, and floods
LIBRARY_TEXT = ("lxml", "libxml", "traceback", "sqlalchemy", "psycopg", "spyne", "element '{", "root:x:0:0")
KEYS = {"name", "file", "why", "code", "faultcode", "status", "content_type", "encoding", "chunked", "expand", "xfail"}
PLACEHOLDER = re.compile(rb"\$\{(\w+)\}")


@dataclass(frozen=True)
class Attack:
    """One entry of corpus.toml."""

    name: str
    file: str
    why: str
    code: str | None
    faultcode: str
    status: int
    content_type: str
    encoding: str | None
    chunked: bool
    expand: dict[str, tuple[str, int]]
    xfail: str | None

    @classmethod
    def from_toml(cls, entry: dict[str, Any]) -> Attack:
        unknown = set(entry) - KEYS
        assert not unknown, f"{entry.get('name')}: unknown keys {unknown}"
        return cls(
            name=entry["name"],
            file=entry.get("file", entry["name"]),
            why=entry["why"],
            code=entry.get("code"),
            faultcode=entry.get("faultcode", "Client"),
            status=entry.get("status", 500),
            content_type=entry.get("content_type", "text/xml; charset=utf-8"),
            encoding=entry.get("encoding"),
            chunked=entry.get("chunked", False),
            expand={k: (str(v[0]), int(v[1])) for k, v in entry.get("expand", {}).items()},
            xfail=entry.get("xfail"),
        )

    @property
    def path(self) -> Path:
        return CORPUS / f"{self.file}.body"

    @property
    def template(self) -> bytes:
        return self.path.read_bytes()

    @property
    def soap12(self) -> bool:
        """Whether the answer is a SOAP 1.2 envelope (the Content-Type picks the version)."""
        return self.status != 415 and self.content_type.lower().startswith("application/soap+xml")

    @property
    def probes(self) -> bool:
        return b"${probe}" in self.template

    def body(self, probe: str = "file:///nonexistent/probe") -> bytes:
        """The request: placeholders filled with fresh values, generated parts expanded."""
        values = {
            "berichtId": str(uuid.uuid4()),
            "bsn": bsn(),
            "A": A,
            "gatewayOin": GATEWAY_OIN,
            "probe": probe,
            **{name: _repeat(unit, times) for name, (unit, times) in self.expand.items()},
        }
        data = PLACEHOLDER.sub(lambda m: values[m.group(1).decode()].encode(), self.template)
        return data.decode("utf-8").encode(self.encoding) if self.encoding else data


def _repeat(unit: str, times: int) -> str:
    if "{i}" in unit:
        return "".join(unit.replace("{i}", str(i)) for i in range(times))
    return unit * times


ATTACKS = [Attack.from_toml(e) for e in tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["attack"]]


def test_corpus_is_consistent() -> None:
    """Every file is used, every entry has its file, and every expected code is documented."""
    names = [a.name for a in ATTACKS]
    assert len(names) == len(set(names)), "an attack is listed twice"
    files = {p.stem for p in CORPUS.glob("*.body")}
    assert files == {a.file for a in ATTACKS}, "a .body file without an entry, or an entry without its file"
    assert not list(CORPUS.glob("*.xml")), "tests/test_messages.py would post *.xml files as ordinary messages"
    assert all(p.stat().st_size < 4096 for p in CORPUS.glob("*.body")), "generate large inputs with `expand`"
    for a in ATTACKS:
        assert a.code is None or a.code in FAULTS, a.name
        assert a.faultcode in ("Client", "MustUnderstand"), a.name
        used = {m.decode() for m in PLACEHOLDER.findall(a.template)}
        assert used <= {"berichtId", "bsn", "A", "gatewayOin", "probe", *a.expand}, a.name
        assert set(a.expand) <= used, f"{a.name}: expands a placeholder the file does not have"


# ---- the server's memory -----------------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """The process and all its descendants (gunicorn's arbiter and workers)."""
    pids = [pid]
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            pids += _tree(int(child))
    return pids


def memory(pid: int) -> dict[int, dict[str, int]]:
    """VmRSS and VmHWM (peak RSS) in KiB of every process in the tree."""
    out: dict[int, dict[str, int]] = {}
    for p in _tree(pid):
        try:
            lines = Path(f"/proc/{p}/status").read_text().splitlines()
        except FileNotFoundError:
            continue
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        out[p] = {k: int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM") if k in fields}
    return out


def mib(m: dict[int, dict[str, int]], key: str = "VmRSS") -> float:
    return round(sum(v.get(key, 0) for v in m.values()) / 1024, 1)


# ---- the parallel client -----------------------------------------------------------------------------


@dataclass
class Pinger:
    """Calls Ping through zeep in a loop; every call must succeed, and quickly."""

    server: Server
    calls: int = 0
    slowest: float = 0.0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="pinger", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        svc = client(self.server)
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                answer = svc.Ping(stuurgegevens=sg(A))
                assert answer.versie, "Ping without a version"
            except Exception as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
            took = time.monotonic() - started
            self.slowest = max(self.slowest, took)
            if took > PING_SECONDS:
                self.failures.append(f"Ping took {took:.1f} s")
            self.calls += 1
            self.stop.wait(0.05)

    def finish(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(PING_SECONDS + 30)
            assert not self.thread.is_alive(), "the parallel client hangs"


@dataclass
class Campaign:
    """One corpus run against one server: the parallel client and the memory figures."""

    server: Server
    pinger: Pinger
    workers: set[int]
    out: Path
    memory: dict[str, dict[int, dict[str, int]]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def measure(self, moment: str) -> float:
        """Record the memory of the server's process tree now; the total RSS in MiB."""
        self.memory[moment] = memory(self.server.proc.pid)
        figures = {
            "backend": self.server.db_url.split(":")[0],
            "rss_mib": {k: mib(v) for k, v in self.memory.items()},
            "peak_mib": {k: mib(v, "VmHWM") for k, v in self.memory.items()},
            "processes_kib": self.memory,
            "seconds_per_attack": self.timings,
        }
        (self.out / "memory.json").write_text(json.dumps(figures, indent=2))
        print(f"\nserver memory ({figures['backend']}) {moment}: rss {mib(self.memory[moment])} MiB, peak", end=" ")
        print(f"{mib(self.memory[moment], 'VmHWM')} MiB ({self.out / 'memory.json'})")
        return mib(self.memory[moment])


def _prime(server: Server, tmp: Path) -> None:
    """Let every worker parse the largest tree a request can cause, as many at a time as there are
    workers so that each gets one. The allocator keeps that high-water mark (about 30 times the body) for
    good; without this, the figures would measure which worker happened to get the bomb, not growth."""
    bomb = next(a for a in ATTACKS if a.name == BOMB)
    start = memory(server.proc.pid)
    workers = [p for p in start if p != server.proc.pid]
    for _ in range(10):
        with ThreadPoolExecutor(len(workers)) as pool:
            for answer in list(pool.map(lambda _: send(server, bomb, tmp), workers)):
                check(bomb, answer)
        now = memory(server.proc.pid)
        if all(now[p]["VmHWM"] - start[p]["VmHWM"] > 10 * 1024 for p in workers if p in now):
            return


@pytest.fixture(scope="module")
def campaign(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    """Warm the server up with normal calls and the largest parse, take its memory, start the parallel
    client."""
    out = tmp_path_factory.mktemp("attacks")
    svc = client(server)
    for _ in range(6):
        svc.Ping(stuurgegevens=sg(A))
        svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsn()}, meldingsbevoegde={"naam": "X"})
    run = Campaign(server, Pinger(server), set(_tree(server.proc.pid)) - {server.proc.pid}, out)
    run.measure("warm")
    _prime(server, out)
    run.measure("before")
    run.pinger.start()
    yield run
    run.pinger.stop.set()


# ---- one request -------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    content: bytes
    seconds: float
    probe_opened: bool


def post(server: Server, attack: Attack, body: bytes) -> requests.Response:
    headers = {"Content-Type": attack.content_type} if attack.content_type else {}
    data: Any = body
    if attack.chunked:
        data = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
    return requests.post(server.endpoint, data=data, headers=headers, timeout=(SECONDS, SECONDS))


def send(server: Server, attack: Attack, tmp: Path) -> Answer:
    """Post the attack; when it carries the named pipe, watch whether the gateway opens it."""
    if not attack.probes:
        started = time.monotonic()
        r = post(server, attack, attack.body())
        return Answer(r.status_code, dict(r.headers), r.content, time.monotonic() - started, False)
    pipe = tmp / f"probe-{uuid.uuid4().hex[:8]}"
    os.mkfifo(pipe)
    opened = False

    def release() -> bool:
        """If someone has the pipe open for reading, give them end-of-file at once."""
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader
            return False
        os.close(fd)
        return True

    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(post, server, attack, attack.body(pipe.as_uri()))
        try:
            while not future.done():
                opened = release() or opened
                time.sleep(0.01)
        finally:
            opened = release() or opened
        r = future.result()
    return Answer(r.status_code, dict(r.headers), r.content, time.monotonic() - started, opened)


def check(attack: Attack, answer: Answer) -> None:
    """The answer is the expected SOAP fault, in time, without library text, and nothing was fetched."""
    assert not answer.probe_opened, "the gateway opened a file named in the request"
    text = answer.content.decode("utf-8", "replace")
    assert answer.status == attack.status, f"HTTP {answer.status}: {text[:2000]}"
    for raw in LIBRARY_TEXT:
        assert raw not in text.lower(), f"library text {raw!r} in the answer: {text[:2000]}"
    env = SOAP12 if attack.soap12 else SOAP11
    ctype = "application/soap+xml" if attack.soap12 else "text/xml"
    assert answer.headers.get("Content-Type", "").startswith(ctype), answer.headers
    doc = etree.fromstring(answer.content, etree.XMLParser(resolve_entities=False, no_network=True))
    assert doc.tag == f"{{{env}}}Envelope", text[:2000]
    fault = doc.find(f"{{{env}}}Body/{{{env}}}Fault")
    assert fault is not None, text[:2000]
    if attack.soap12:
        soap_code = fault.findtext(f"{{{env}}}Code/{{{env}}}Value") or ""
        wanted = {"Client": "Sender"}.get(attack.faultcode, attack.faultcode)
    else:
        soap_code, wanted = fault.findtext("faultcode") or "", attack.faultcode
    assert soap_code.split(":")[-1] == wanted, text[:2000]
    code = fault.findtext(".//g:fout/g:code", namespaces=NS)
    if attack.code is not None:
        assert code == attack.code, text[:2000]
    else:
        assert code in FAULTS and code != "VIR-INTERN", text[:2000]
    assert answer.seconds <= SECONDS, f"answered after {answer.seconds:.1f} s"


def _param(attack: Attack) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=attack.xfail)] if attack.xfail else []
    return pytest.param(attack, marks=marks, id=attack.name)


@pytest.mark.parametrize("attack", [_param(a) for a in ATTACKS])
def test_attack_is_refused(campaign: Campaign, attack: Attack, tmp_path: Path) -> None:
    """One hostile request: the documented fault, in time, and the store unchanged."""
    before = snapshot(campaign.server.db_url)
    answer = send(campaign.server, attack, tmp_path)
    campaign.timings[attack.name] = round(answer.seconds, 3)
    check(attack, answer)
    assert snapshot(campaign.server.db_url) == before, "a refused request must store nothing"


# ---- after the corpus --------------------------------------------------------------------------------


def _basis(m: dict[int, dict[str, int]]) -> float:
    """What the process tree already held: its RSS, or its high-water mark when that is higher. The
    allocator returns freed pages now and then and takes them again on the next large parse; that is
    not growth. A leak shows as RSS beyond the earlier high-water mark."""
    return max(mib(m), mib(m, "VmHWM"))


def test_memory_over_the_corpus(campaign: Campaign) -> None:
    """The whole corpus costs the server no more than a bounded amount of memory."""
    before = _basis(campaign.memory["before"])
    grown = campaign.measure("after") - before
    assert grown < CORPUS_MIB, f"RSS grew {grown:.0f} MiB over the corpus"


@pytest.mark.slow
def test_memory_under_a_flood_of_element_bombs(campaign: Campaign, tmp_path: Path) -> None:
    """The largest element bomb, again and again: each one's tree must be freed before the next."""
    bomb = next(a for a in ATTACKS if a.name == BOMB)
    campaign.measure("before-flood")
    before = _basis(campaign.memory["before-flood"])
    for _ in range(FLOOD):
        check(bomb, send(campaign.server, bomb, tmp_path))
    grown = campaign.measure("after-flood") - before
    assert grown < FLOOD_MIB, f"RSS grew {grown:.0f} MiB over {FLOOD} element bombs"


def test_parallel_client_kept_getting_answers(campaign: Campaign) -> None:
    """Every Ping during the whole corpus succeeded, and no worker died or was replaced."""
    campaign.pinger.finish()
    p = campaign.pinger
    print(f"\nparallel client: {p.calls} pings, slowest {p.slowest:.2f} s, {len(p.failures)} failures")
    assert p.calls > 0
    assert not p.failures, p.failures[:5]
    workers = set(_tree(campaign.server.proc.pid)) - {campaign.server.proc.pid}
    assert workers == campaign.workers, "a gunicorn worker died during the corpus"


def test_normal_melding_afterwards(campaign: Campaign) -> None:
    """After all of it, an ordinary melding is filed and answered."""
    svc = client(campaign.server)
    stuur = sg(A)
    answer = svc.MeldingAfgeven(stuurgegevens=stuur, jongere={"bsn": bsn()}, meldingsbevoegde={"naam": "Anna"})
    assert answer.meldingId
    assert answer.stuurgegevens.kruisverwijzing == stuur["berichtId"]
