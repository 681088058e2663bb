"""The signed message log on a real database: verification names every kind of tampering, checkpoints
verify with xmlsec1, bundles verify offline, proofs verify and fail when altered, receipts work through
the service, and concurrent gateway processes build one tree."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zeep
from lxml import etree
from sqlalchemy import create_engine, text

from gateway.log import merkle
from tests.support import A, B, Server, bsn, client, log_size, run_cli, sg, start_server


def cli(
    server_or_env: Server | dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``vir-gateway log ARGS`` in this process (the offline bundle test below runs the real one)."""
    if isinstance(server_or_env, Server):
        env = {
            **os.environ,
            "VIR_DATABASE_URL": server_or_env.db_url,
            "VIR_DATA_DIR": str(server_or_env.log.parent / "data"),
            "VIR_OPERATOR": "test-operator",
        }
    else:
        env = {**os.environ, **server_or_env}
    return run_cli("log", *args, env=env, cwd=cwd)


def traffic(server: Server, n: int = 6) -> None:
    svc = client(server)
    for _ in range(n):
        y = bsn()
        svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": y}, meldingsbevoegde={"naam": "Anna"})
        svc.MeldingAfgeven(stuurgegevens=sg(B), jongere={"bsn": y}, meldingsbevoegde={"naam": "Bert"})


@pytest.fixture
def own_server(backend: str, tmp_path: Path) -> Any:
    """A gateway with a database of its own, for tests that change it."""
    from tests.conftest import create_pg_database, drop_pg_database

    url = create_pg_database() if backend.startswith("postgresql") else f"sqlite:///{tmp_path / 'own.sqlite3'}"
    srv = start_server(tmp_path / "gw", url)
    yield srv
    srv.stop()
    if backend.startswith("postgresql"):
        drop_pg_database(url)


@dataclass
class LoggedDb:
    url: str
    data_dir: Path


@pytest.fixture(scope="session")
def logged_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A database with real traffic and two checkpoints, written by a gateway that has stopped."""
    from tests.conftest import create_pg_database, drop_pg_database

    tmp = tmp_path_factory.mktemp("logged")
    pg = backend.startswith("postgresql")
    url = create_pg_database() if pg else f"sqlite:///{tmp / 'logged.sqlite3'}"
    srv = start_server(tmp / "gw", url)
    traffic(srv, 4)
    assert cli(srv, "checkpoint").returncode == 0
    traffic(srv, 1)
    srv.stop()
    yield LoggedDb(url, tmp / "gw" / "data")
    if pg:
        drop_pg_database(url)


def clone(db: LoggedDb, tmp: Path) -> str:
    """A copy of the logged database to tamper with (SQLite: the file; PostgreSQL: a template copy)."""
    if db.url.startswith("sqlite"):
        # SQLite's backup API, not a file copy: in WAL mode the newest pages may still be in the -wal file.
        src = sqlite3.connect(db.url.removeprefix("sqlite:///"))
        dst = sqlite3.connect(tmp / "copy.sqlite3")
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
        return f"sqlite:///{tmp / 'copy.sqlite3'}"
    from sqlalchemy.engine import make_url

    from tests.conftest import PG_ADMIN

    name = f"vir_tamper_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(db.url).database}"'))
    engine.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def sql(server: Server, statement: str, **params: Any) -> None:
    engine = create_engine(server.db_url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def test_verify_is_ok_on_a_live_log(server: Server) -> None:
    traffic(server, 3)
    assert cli(server, "checkpoint").returncode == 0
    r = cli(server, "verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK:")


TAMPERINGS = {
    "payload byte": ("UPDATE logregel SET payload = :p WHERE volgnummer = 3", "regel 3: its payload"),
    "metadata field": (
        "UPDATE logregel SET actor = '00000001999999999000' WHERE volgnummer = 4",
        "regel 4: its metadata",
    ),
    "deleted entry": ("DELETE FROM logregel WHERE volgnummer = 5", "regel 5: missing"),
    "inserted entry": ("", "regel 7: it was logged as entry 6: an entry was inserted before it"),
    "swapped entries": ("swap", "regel 2: it was logged as entry 3"),
    "checkpoint signature": (
        "UPDATE checkpoint SET xml = :x WHERE grootte = (SELECT min(grootte) FROM checkpoint)",
        "signature does not verify",
    ),
}


@pytest.mark.parametrize("kind", list(TAMPERINGS))
def test_tampering_is_detected_and_named(logged_db: LoggedDb, tmp_path: Path, kind: str) -> None:
    url = clone(logged_db, tmp_path)
    env = {"VIR_DATABASE_URL": url, "VIR_DATA_DIR": str(logged_db.data_dir), "VIR_OPERATOR": "test-operator"}
    before = cli(env, "verify")
    assert before.returncode == 0, before.stdout
    statement, expected = TAMPERINGS[kind]
    engine = create_engine(url)
    with engine.begin() as conn:
        if kind == "payload byte":
            payload = conn.execute(text("SELECT payload FROM logregel WHERE volgnummer = 3")).scalar_one()
            changed = bytearray(payload)
            changed[len(changed) // 2] ^= 0x01
            conn.execute(text(statement), {"p": bytes(changed)})
        elif kind == "checkpoint signature":
            xml = conn.execute(text("SELECT xml FROM checkpoint ORDER BY grootte LIMIT 1")).scalar_one()
            doc = etree.fromstring(xml)
            sv = doc.find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureValue")
            raw = bytearray(base64.b64decode(sv.text))
            raw[10] ^= 0xFF
            sv.text = base64.b64encode(bytes(raw)).decode()
            conn.execute(text(statement), {"x": etree.tostring(doc)})
        elif kind == "swapped entries":
            cols = (
                "tijdstip, soort, operatie, actor, bericht_id, kruisverwijzing, foutcode, correlatie_id, "
                "payload_digest, payload_lengte, payload, leaf"
            )
            a = conn.execute(text(f"SELECT {cols} FROM logregel WHERE volgnummer = 2")).one()._mapping
            b = conn.execute(text(f"SELECT {cols} FROM logregel WHERE volgnummer = 3")).one()._mapping
            sets = ", ".join(f"{c.strip()} = :{c.strip()}" for c in cols.split(","))
            conn.execute(text(f"UPDATE logregel SET {sets} WHERE volgnummer = 2"), dict(b))
            conn.execute(text(f"UPDATE logregel SET {sets} WHERE volgnummer = 3"), dict(a))
        elif kind == "inserted entry":
            # Make room at 6 and insert a forged entry there, with a self-consistent leaf hash.
            conn.execute(text("UPDATE logregel SET volgnummer = volgnummer + 1000000 WHERE volgnummer >= 6"))
            conn.execute(text("UPDATE logregel SET volgnummer = volgnummer - 1000000 + 1 WHERE volgnummer >= 1000000"))
            row = conn.execute(text("SELECT * FROM logregel WHERE volgnummer = 5")).one()._mapping
            forged = dict(row)
            forged["volgnummer"] = 6
            from types import SimpleNamespace

            from gateway.log.regel import leaf_of_row

            forged["leaf"] = leaf_of_row(SimpleNamespace(**forged))
            cols = ", ".join(forged)
            conn.execute(text(f"INSERT INTO logregel ({cols}) VALUES ({', '.join(':' + c for c in forged)})"), forged)
        else:
            conn.execute(text(statement))
    engine.dispose()
    after = cli(env, "verify")
    assert after.returncode == 1, after.stdout
    assert after.stdout.startswith("FAILED")
    assert expected in after.stdout, after.stdout
    if not url.startswith("sqlite"):
        from tests.conftest import drop_pg_database

        drop_pg_database(url)


def test_checkpoint_verifies_with_xmlsec1(server: Server, tmp_path: Path) -> None:
    xmlsec1 = shutil.which("xmlsec1")
    assert xmlsec1, "xmlsec1 (Debian package xmlsec1) is required"
    traffic(server, 1)
    out = tmp_path / "checkpoint.xml"
    r = cli(server, "checkpoint", "--uit", str(out))
    assert r.returncode == 0, r.stderr
    cert = server.log.parent / "data" / "keys" / "log-signing-cert.pem"
    ok = subprocess.run(
        [xmlsec1, "--verify", "--pubkey-cert-pem", str(cert), str(out)], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0 and "OK" in ok.stderr, ok.stderr
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(out.read_bytes().replace(b"<log:grootte>", b"<log:grootte>1"))
    bad = subprocess.run(
        [xmlsec1, "--verify", "--pubkey-cert-pem", str(cert), str(tampered)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0


def test_bundle_verifies_offline_in_an_empty_directory(server: Server, tmp_path: Path) -> None:
    traffic(server, 2)
    bundle = tmp_path / "bundle.zip"
    assert cli(server, "export", "--van", "1", "--uit", str(bundle)).returncode == 0
    empty = tmp_path / "auditor"
    empty.mkdir()
    shutil.copy(bundle, empty / "bundle.zip")
    bare_env = {k: v for k, v in os.environ.items() if not k.startswith("VIR_")}
    # The real process: what an auditor runs, with nothing of ours around it.
    r = subprocess.run(
        [sys.executable, "-m", "vir", "log", "verify", "--bundle", "bundle.zip"],
        cwd=empty,
        env=bare_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK:" in r.stdout and "fingerprint" in r.stdout
    assert sorted(p.name for p in empty.iterdir()) == ["bundle.zip"], "offline verification writes nothing"
    # A bundle with one changed payload fails.
    import zipfile

    with zipfile.ZipFile(empty / "bundle.zip") as z:
        files = {n: z.read(n) for n in z.namelist()}
    lines = files["regels.jsonl"].decode().splitlines()
    first = json.loads(lines[0])
    first["payload"] = base64.b64encode(b"<forged/>").decode()
    lines[0] = json.dumps(first)
    files["regels.jsonl"] = ("\n".join(lines) + "\n").encode()
    with zipfile.ZipFile(empty / "forged.zip", "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    bad = run_cli("log", "verify", "--bundle", "forged.zip", cwd=empty, env=bare_env)
    assert bad.returncode == 1 and "payload" in bad.stdout


def test_proofs_verify_for_random_entries_and_fail_when_altered(server: Server) -> None:
    traffic(server, 2)
    assert cli(server, "checkpoint").returncode == 0
    first = log_size(server.db_url)
    traffic(server, 2)
    assert cli(server, "checkpoint").returncode == 0
    second = log_size(server.db_url)
    rng = random.Random(5)
    for v in rng.sample(range(first), 4):
        r = cli(server, "proof", str(v))
        assert r.returncode == 0, r.stderr
        proof = json.loads(r.stdout)
        leaf, root = bytes.fromhex(proof["leaf"]), bytes.fromhex(proof["wortel"])
        path = [bytes.fromhex(h) for h in proof["auditpad"]]
        assert merkle.verify_inclusion(leaf, v, proof["boomgrootte"], path, root)
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"x"), v, proof["boomgrootte"], path, root)
    sizes = [int(line.split()[0]) for line in cli(server, "checkpoints").stdout.splitlines()]
    assert first in sizes and second in sizes
    r = cli(server, "consistency", str(first), str(second))
    assert r.returncode == 0, r.stdout + r.stderr
    c = json.loads(r.stdout)
    p = [bytes.fromhex(h) for h in c["bewijs"]]
    old, new = bytes.fromhex(c["oudeWortel"]), bytes.fromhex(c["nieuweWortel"])
    assert merkle.verify_consistency(first, second, old, new, p)
    assert not merkle.verify_consistency(first, second, merkle.leaf_hash(b"x"), new, p)


def test_receipt_and_inclusion_proof_through_the_service(server: Server) -> None:
    svc = client(server)
    r = svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsn()}, meldingsbevoegde={"naam": "Anna"})
    receipt = r.stuurgegevens.ontvangstbewijs
    assert receipt is not None
    bewijs = {"volgnummer": receipt.volgnummer, "leafHash": receipt.leafHash}
    assert cli(server, "checkpoint").returncode == 0
    answer = svc.OntvangstbewijsOpvragen(stuurgegevens=sg(A), ontvangstbewijs=bewijs)
    assert answer.status == "bewezen"
    checkpoint = answer.checkpoint._value_1 if hasattr(answer.checkpoint, "_value_1") else answer.checkpoint
    if isinstance(checkpoint, list):
        checkpoint = checkpoint[0]
    cert = (server.log.parent / "data" / "keys" / "log-signing-cert.pem").read_bytes()
    from gateway.log.checkpoint import verify

    data = verify(etree.tostring(checkpoint), cert)
    # zeep decodes xs:base64Binary to bytes.
    path = list(answer.auditpad)
    assert data.grootte == answer.boomgrootte
    assert merkle.verify_inclusion(receipt.leafHash, receipt.volgnummer, data.grootte, path, data.wortel)
    # Another instantie cannot use this receipt.
    with pytest.raises(zeep.exceptions.Fault):
        svc.OntvangstbewijsOpvragen(stuurgegevens=sg(B), ontvangstbewijs=bewijs)


def test_operator_reads_are_logged(server: Server) -> None:
    start = log_size(server.db_url)
    assert cli(server, "search", "--bsn", "111222333").returncode in (0, 1)
    assert cli(server, "show", "0").returncode == 0
    engine = create_engine(server.db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT soort, operatie, actor, payload FROM logregel WHERE volgnummer >= :s ORDER BY volgnummer"),
            {"s": start},
        ).all()
    engine.dispose()
    assert [(r.soort, r.operatie, r.actor) for r in rows] == [
        ("inzage", "log search", "test-operator"),
        ("inzage", "log show", "test-operator"),
    ]
    assert b"111222333" in rows[0].payload


def test_redact_keeps_the_log_verifiable(own_server: Server) -> None:
    traffic(own_server, 2)
    r = cli(own_server, "redact", "--before", "2999-01-01")
    assert r.returncode == 0 and "removed" in r.stdout
    assert cli(own_server, "checkpoint").returncode == 0
    v = cli(own_server, "verify")
    assert v.returncode == 0, v.stdout
    engine = create_engine(own_server.db_url)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM logregel WHERE payload IS NOT NULL")).scalar_one()
    engine.dispose()
    assert left <= 2  # only what was logged after the redaction (its own entry, the verify read)


# Filings per writer (four writers: two instanties on each of two gateways).
CONCURRENT_FILINGS = int(os.environ.get("VIR_TEST_CONCURRENT_FILINGS", "60"))


@pytest.mark.slow
def test_concurrent_gateways_build_one_tree(backend: str, tmp_path: Path) -> None:
    """Two gateway processes (two workers each) on one database, writing at once. Every worker signs a
    checkpoint as soon as it sees the tree grow (VIR_CHECKPOINT_REGELS=1), so the checkpoints of all of
    them must fit the one sequence of entries."""
    from tests.conftest import create_pg_database, drop_pg_database

    pg = backend.startswith("postgresql")
    url = create_pg_database() if pg else f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    often = {"VIR_CHECKPOINT_SECONDEN": "2", "VIR_CHECKPOINT_REGELS": "1"}
    first = start_server(tmp_path / "one", url, extra_env=often)
    keys = tmp_path / "one" / "data" / "keys"
    second = start_server(
        tmp_path / "two",
        url,
        extra_env={
            **often,
            "VIR_LOG_KEY": str(keys / "log-signing-key.pem"),
            "VIR_LOG_CERT": str(keys / "log-signing-cert.pem"),
        },
    )
    errors: list[BaseException] = []
    count = [0]
    counting = threading.Lock()
    start = threading.Barrier(4)

    def load(server: Server, oin: str) -> None:
        svc = client(server)
        try:
            start.wait(60)
            for _ in range(CONCURRENT_FILINGS):
                svc.MeldingAfgeven(stuurgegevens=sg(oin), jongere={"bsn": bsn()}, meldingsbevoegde={"naam": "X"})
                with counting:
                    count[0] += 1
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=load, args=(s, o)) for s in (first, second) for o in (A, B)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        assert count[0] == 4 * CONCURRENT_FILINGS
        r = cli(first, "checkpoint")
        assert r.returncode == 0
        v = cli(first, "verify")
        assert v.returncode == 0, v.stdout
        assert log_size(url) >= 2 * count[0]
        # Checkpoints signed along the way by the workers of both processes, and the last one above.
        assert int(v.stdout.split(" and ")[1].split()[0]) >= 2
    finally:
        first.stop()
        second.stop()
        if pg:
            drop_pg_database(url)


def test_a_search_by_berichtid_or_fault_code_finds_every_entry_without_reading_the_whole_log(
    own_server: Server,
) -> None:
    """``log search --bericht-id`` and the console find every entry naming the berichtId, as berichtId or as
    kruisverwijzing (a request, its answer, a replay and its stored answer, a refused request and its fault), and
    ``--foutcode`` every entry of that code: exactly the entries a look at every row finds. The database answers
    both through indexes, so a search in a log of millions of entries does not read them all."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from store import console
    from store.logboek import Zoekvraag, met_filter, zoek
    from store.models import LogregelRij
    from tests.support import fault_code, invalid_bsn

    traffic(own_server, 2)
    svc = client(own_server)
    herhaald = sg(A)
    y = bsn()
    for _ in range(2):  # the second is a retry: the stored answer again, both logged
        svc.MeldingAfgeven(stuurgegevens=herhaald, jongere={"bsn": y}, meldingsbevoegde={"naam": "Anna"})
    geweigerd = []
    for oin in (B, A):
        geweigerd.append(sg(oin))
        with pytest.raises(zeep.exceptions.Fault) as fout:
            svc.MeldingAfgeven(
                stuurgegevens=geweigerd[-1], jongere={"bsn": invalid_bsn()}, meldingsbevoegde={"naam": "X"}
            )
        assert fault_code(fout.value) == "VIR-BSN-ONGELDIG"
    traffic(own_server, 1)

    engine = create_engine(own_server.db_url)
    try:
        with Session(engine) as s:
            alle = s.execute(select(LogregelRij).order_by(LogregelRij.volgnummer)).scalars().all()
            # The answer's own berichtId: its first entry and the retry's, which logs the stored answer again.
            antwoord_ids = {
                r.bericht_id for r in alle if r.soort == "uitgaand" and r.kruisverwijzing == herhaald["berichtId"]
            }
            assert len(antwoord_ids) == 1 and None not in antwoord_ids
            (antwoord_id,) = antwoord_ids
            for gezocht, verwacht_soorten in (
                (herhaald["berichtId"], ["inkomend", "uitgaand", "inkomend", "uitgaand"]),
                (geweigerd[0]["berichtId"], ["inkomend", "fout"]),
                (antwoord_id, ["uitgaand", "uitgaand"]),
            ):
                elk = sorted(r.volgnummer for r in alle if gezocht in (r.bericht_id, r.kruisverwijzing))
                gevonden = zoek(s, Zoekvraag(bericht_id=gezocht), limit=50)
                assert [r.volgnummer for r in gevonden] == elk
                assert [r.soort for r in gevonden] == verwacht_soorten
                in_console = console.zoek(s, console.Zoekvraag(bericht_id=gezocht), voor=None, limit=50)
                assert sorted(r.volgnummer for r in in_console) == elk
            fouten = sorted(r.volgnummer for r in alle if r.foutcode == "VIR-BSN-ONGELDIG")
            assert len(fouten) == 2
            assert [r.volgnummer for r in zoek(s, Zoekvraag(foutcode="VIR-BSN-ONGELDIG"), limit=50)] == fouten
            in_console = console.zoek(s, console.Zoekvraag(foutcode="VIR-BSN-ONGELDIG"), voor=None, limit=50)
            assert sorted(r.volgnummer for r in in_console) == fouten

            laatste = select(LogregelRij.volgnummer).order_by(LogregelRij.volgnummer.desc()).limit(50)
            geen = dict.fromkeys(("van", "tot", "operatie", "actor", "foutcode", "soort", "bericht_id"))
            for filter_, index in (
                ({"bericht_id": herhaald["berichtId"]}, "ix_logregel_bericht"),
                ({"foutcode": "VIR-BSN-ONGELDIG"}, "ix_logregel_foutcode"),
            ):
                q = met_filter(laatste, **(geen | filter_))
                gecompileerd = q.compile(engine, compile_kwargs={"literal_binds": True})
                if engine.dialect.name == "sqlite":
                    plan = [r[-1] for r in s.execute(text(f"EXPLAIN QUERY PLAN {gecompileerd}"))]
                    assert not [p for p in plan if p.startswith("SCAN")], (filter_, plan)
                    assert [p for p in plan if f"INDEX {index} " in p], (filter_, plan)
                else:
                    # Only bitmap scans allowed, which read a table through an index condition: a plan that
                    # still needs a sequential scan, or a key read in order with the condition as a filter (the
                    # whole log again), costs PostgreSQL's penalty for a disabled step (1e10; from PostgreSQL 18
                    # the step is marked "Disabled" instead).
                    for schakelaar in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
                        s.execute(text(f"SET LOCAL {schakelaar} = off"))
                    plan = [r[0] for r in s.execute(text(f"EXPLAIN {gecompileerd}"))]
                    kosten = float(plan[0].split("cost=")[1].split("..")[1].split()[0])
                    assert kosten < 1e9, (filter_, plan)
                    assert not [p for p in plan if "Seq Scan" in p or "Disabled: true" in p], (filter_, plan)
                    assert [p for p in plan if f" on {index}" in p], (filter_, plan)
    finally:
        engine.dispose()
