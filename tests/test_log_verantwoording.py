"""An accountable log, on a real database: redactions are entries (a forged redaction mark is named),
the log is held against checkpoints kept elsewhere (a rollback and a fork are named), verify recomputes
the head and never writes to a log it found broken, proofs come from O(log n) stored nodes, and every
operator command fails with one line and a documented exit code, never a traceback."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from gateway.log import bewijs, merkle
from tests.support import A, Server, bsn, client, log_size, sg, tree_size
from tests.test_log import LoggedDb, cli, clone, logged_db, own_server, traffic  # noqa: F401 (fixtures)

EXIT_INVOER = 4


@pytest.fixture
def tampered(logged_db: LoggedDb, tmp_path: Path) -> Any:  # noqa: F811
    """A copy of the logged database to tamper with, and the environment for the CLI on it."""
    url = clone(logged_db, tmp_path)
    env = {"VIR_DATABASE_URL": url, "VIR_DATA_DIR": str(logged_db.data_dir), "VIR_OPERATOR": "test-operator"}
    assert cli(env, "verify").returncode == 0
    yield url, env
    if not url.startswith("sqlite"):
        from tests.conftest import drop_pg_database

        drop_pg_database(url)


def run_sql(url: str, statement: str, **params: Any) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def query(url: str, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.execute(text(statement), params))
    engine.dispose()
    return rows


def no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    assert len(r.stderr.strip().splitlines()) <= 1, r.stderr


def failed(r: subprocess.CompletedProcess[str], expected: str) -> None:
    no_traceback(r)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "\nFAILED" in "\n" + r.stdout, r.stdout
    assert expected in r.stdout, r.stdout


# --- redactions are entries -----------------------------------------------------------------------


def test_a_forged_redaction_mark_is_named(tampered: tuple[str, dict[str, str]]) -> None:
    url, env = tampered
    run_sql(
        url,
        "UPDATE logregel SET payload = NULL, payload_verwijderd = '2026-11-30T00:00:00.000000Z' WHERE volgnummer = 3",
    )
    failed(cli(env, "verify"), "regel 3: its payload is gone and no logged redaction covers it")
    # An insider without the key removes another payload through a redaction entry of its own: unsigned
    # (no checkpoint covers it), so it does not count.
    from gateway.log.redactie import redigeer
    from store.db import Database
    from store.logboek import Selectie

    db = Database(url)
    with db.transaction() as s:
        redigeer(
            s,
            waar=Selectie(bereiken=[(4, 4)]),
            reden="beheerder",
            actor="insider",
            tijdstip="2026-12-01T00:00:00.000000Z",
        )
    db.dispose()
    failed(
        cli(env, "verify"), "regel 4: its payload is gone; the redaction entry that covers it is not yet under a signed"
    )


def test_redaction_ranges() -> None:
    from gateway.log.redactie import bereiken, gedekt, ongedekt

    assert bereiken([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]
    assert ongedekt([(0, 10)], [(2, 3), (5, 5), (9, 20)]) == [(0, 1), (4, 4), (6, 8)]
    assert ongedekt([(0, 3), (8, 8)], [(0, 8)]) == []
    # A redaction covers only entries before it, and a payload that is not a record covers nothing.
    assert gedekt(b'{"regels":[[0,5],[7,9]]}', 8) == [(0, 5), (7, 7)]
    assert gedekt(b"<not json/>", 8) == []


def test_redactions_erasure_and_retention_are_entries_that_verify(own_server: Server, tmp_path: Path) -> None:  # noqa: F811
    svc = client(own_server)
    wissen = bsn()
    svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": wissen}, meldingsbevoegde={"naam": "Anna"})
    traffic(own_server, 2)
    # A data subject's erasure: every payload holding the BSN goes; the BSN is not in the redaction entry.
    r = cli(own_server, "redact", "--bsn", wissen, "--verzoek", "AVG-2026-17")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = query(own_server.db_url, "SELECT volgnummer, payload FROM logregel ORDER BY volgnummer")
    assert not any(p is not None and wissen.encode() in bytes(p) for _, p in rows)
    entry = query(
        own_server.db_url,
        "SELECT volgnummer, soort, operatie, actor, payload FROM logregel WHERE operatie = 'log redact'",
    )
    assert len(entry) == 1 and entry[0].soort == "beheer" and entry[0].actor == "test-operator"
    record = json.loads(entry[0].payload)
    assert record["reden"] == "uitwissing" and record["verzoek"] == "AVG-2026-17" and record["verwijderd"] >= 1
    assert wissen.encode() not in bytes(entry[0].payload)
    gone = [v for v, p in rows if p is None]
    assert [list(x) for x in _ranges(gone)] == record["regels"]
    marks = query(own_server.db_url, "SELECT DISTINCT payload_verwijderd FROM logregel WHERE payload IS NULL")
    assert [m[0] for m in marks] == [str(entry[0].volgnummer)]
    v = cli(own_server, "verify")
    assert v.returncode == 0 and "payloads removed by logged redactions" in v.stdout, v.stdout
    # The retention run redacts what is older than the log retention, as one more entry.
    env = {"VIR_DATABASE_URL": own_server.db_url, "VIR_DATA_DIR": str(own_server.log.parent / "data")}
    o = subprocess.run(
        [sys.executable, "-m", "vir", "onderhoud", "--nu", "2040-01-01T00:00:00+00:00"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert o.returncode == 0, o.stderr
    redactions = query(
        own_server.db_url, "SELECT actor, payload FROM logregel WHERE operatie = 'log redact' ORDER BY volgnummer"
    )
    assert [r.actor for r in redactions] == ["test-operator", "onderhoud"]
    assert json.loads(redactions[1].payload)["reden"] == "bewaartermijn"
    left = query(own_server.db_url, "SELECT operatie FROM logregel WHERE payload IS NOT NULL")
    assert {x[0] for x in left} <= {"log redact", "onderhoud", "log verify"}
    v = cli(own_server, "verify")
    assert v.returncode == 0, v.stdout
    # A bundle carries the redaction entries, so it verifies offline too.
    b = tmp_path / "b.zip"
    assert cli(own_server, "export", "--uit", str(b)).returncode == 0
    vb = cli(own_server, "verify", "--bundle", str(b))
    assert vb.returncode == 0, vb.stdout
    # Then a payload that went without a redaction entry is named, in the bundle too.
    with zipfile.ZipFile(b) as z:
        files = {n: z.read(n) for n in z.namelist()}
    lines = files["regels.jsonl"].decode().splitlines()
    last = json.loads(lines[-1])
    assert last["payload"] is not None
    last["payload"] = None
    lines[-1] = json.dumps(last)
    files["regels.jsonl"] = ("\n".join(lines) + "\n").encode()
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(forged, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    failed(cli(own_server, "verify", "--bundle", str(forged)), f"regel {last['volgnummer']}: its payload is gone")


def _ranges(ns: list[int]) -> list[tuple[int, int]]:
    from gateway.log.redactie import bereiken

    return bereiken(ns)


# --- outside checkpoints ------------------------------------------------------------------------


def _roll_back(url: str, to: int) -> None:
    """What an insider would do: cut the log back to ``to`` entries and make head and checkpoints fit."""
    leaves = [
        bytes(r[0]) for r in query(url, "SELECT leaf FROM logregel WHERE volgnummer < :n ORDER BY volgnummer", n=to)
    ]
    f = merkle.Frontier()
    for leaf in leaves:
        f.append(leaf)
    run_sql(url, "DELETE FROM logregel WHERE volgnummer >= :n", n=to)
    run_sql(url, "DELETE FROM checkpoint WHERE grootte > :n", n=to)
    if url.startswith("postgresql"):
        run_sql(url, "SELECT setval('logregel_volgnummer', :n, false)", n=to)
    from store.logboom import sleutel

    keys = [k for (k,) in query(url, "SELECT sleutel FROM logknoop")]
    for k in keys:
        if ((k >> 6) + 1) << (k & 63) > to:  # the node's last leaf is past the cut
            run_sql(url, "DELETE FROM logknoop WHERE sleutel = :k", k=k)
    assert all(sleutel(k & 63, k >> 6) == k for k in keys)
    run_sql(
        url,
        "UPDATE loghoofd SET grootte = :n, frontier = :f, wortel = :w WHERE id = 1",
        n=to,
        f=f.to_bytes(),
        w=f.root(),
    )


def test_a_rollback_and_a_fork_are_named_against_an_outside_checkpoint(
    tampered: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, env = tampered
    kept = tmp_path / "partner-checkpoint.xml"
    r = cli(env, "checkpoint", "--uit", str(kept))
    assert r.returncode == 0, r.stderr
    size = log_size(url)
    first = int(cli(env, "checkpoints").stdout.split()[0])
    ok = cli(env, "verify", "--tegen", str(kept))
    assert ok.returncode == 0 and f"consistent with checkpoint {size}" in ok.stdout, ok.stdout
    _roll_back(url, first)
    alone = cli(env, "verify")
    assert alone.returncode == 0, alone.stdout  # on its own the rolled-back log looks fine
    failed(cli(env, "verify", "--tegen", str(kept)), "the log was rolled back")
    # Re-extended past the kept checkpoint with other entries: a fork.
    from gateway.log.regel import Logregel
    from gateway.log.writer import append
    from store.db import Database

    db = Database(url)
    with db.transaction() as s:
        append(s, [Logregel("2026-12-01T00:00:00.000000Z", "beheer", "x", "insider", b"<x/>") for _ in range(size)])
    db.dispose()
    assert cli(env, "checkpoint").returncode == 0
    assert cli(env, "verify").returncode == 0
    failed(cli(env, "verify", "--tegen", str(kept)), "the log does not contain that history")


def test_an_outside_checkpoint_of_another_log_or_an_unreadable_file(
    tampered: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    _, env = tampered
    kept = tmp_path / "cp.xml"
    assert cli(env, "checkpoint", "--uit", str(kept)).returncode == 0
    altered = tmp_path / "altered.xml"
    altered.write_bytes(kept.read_bytes().replace(b"<log:grootte>", b"<log:grootte>1"))
    failed(cli(env, "verify", "--tegen", str(altered)), "checkpoint file altered.xml")
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"\x00\x01 not xml")
    r = cli(env, "verify", "--tegen", str(junk))
    no_traceback(r)
    assert r.returncode == EXIT_INVOER and "junk.xml" in r.stderr


# --- verify reads before it writes -------------------------------------------------------------


def test_a_corrupted_head_is_named_and_verify_leaves_the_log_as_it_found_it(
    tampered: tuple[str, dict[str, str]],
) -> None:
    url, env = tampered
    frontier = bytearray(query(url, "SELECT frontier FROM loghoofd")[0][0])
    frontier[5] ^= 0xFF
    run_sql(url, "UPDATE loghoofd SET frontier = :f", f=bytes(frontier))
    before = query(url, "SELECT grootte, frontier, wortel, (SELECT count(*) FROM logregel) FROM loghoofd")
    r = cli(env, "verify")
    failed(r, "hoofd: its frontier differs from the entries")
    assert "not logged" in r.stderr
    assert query(url, "SELECT grootte, frontier, wortel, (SELECT count(*) FROM logregel) FROM loghoofd") == before


# --- operator commands never crash ----------------------------------------------------------------


def test_a_payload_changed_into_text_is_named(tampered: tuple[str, dict[str, str]]) -> None:
    url, env = tampered
    # The first entry naming the professional (entries before it may be the demo's registrations).
    n = next(
        v
        for v, p in query(url, "SELECT volgnummer, payload FROM logregel ORDER BY volgnummer")
        if p and b"Anna" in bytes(p)
    )
    if url.startswith("sqlite"):
        # SQLite's replace() returns text: the column now holds a value of another type.
        run_sql(url, f"UPDATE logregel SET payload = replace(payload, 'Anna', 'Anne') WHERE volgnummer = {n}")
        assert query(url, f"SELECT typeof(payload) FROM logregel WHERE volgnummer = {n}")[0][0] == "text"
        failed(cli(env, "verify"), f"regel {n}: its payload was replaced by a value of another type")
    else:
        # bytea stays bytea; the same edit through text.
        run_sql(
            url,
            "UPDATE logregel SET payload = convert_to(replace(convert_from(payload, 'UTF8'), 'Anna', 'Anne'), 'UTF8') "
            f"WHERE volgnummer = {n}",
        )
        failed(cli(env, "verify"), f"regel {n}: its payload does not match")
    shown = cli(env, "show", str(n))
    no_traceback(shown)


def test_bundles_that_are_rezipped_broken_or_not_bundles(server: Server, tmp_path: Path) -> None:
    traffic(server, 1)
    b = tmp_path / "b.zip"
    assert cli(server, "export", "--uit", str(b)).returncode == 0
    with zipfile.ZipFile(b) as z:
        files = {n: z.read(n) for n in z.namelist()}
    rezipped = tmp_path / "rezipped.zip"
    with zipfile.ZipFile(rezipped, "w") as z:
        z.writestr(zipfile.ZipInfo("checkpoints/"), b"")
        for n, data in files.items():
            z.writestr(n, data)
    r = cli(server, "verify", "--bundle", str(rezipped))
    no_traceback(r)
    assert r.returncode == 0, r.stdout + r.stderr
    renamed = tmp_path / "renamed.zip"
    with zipfile.ZipFile(renamed, "w") as z:
        for n, data in files.items():
            z.writestr(n.replace("checkpoints/", "checkpoints/kopie-") if n.startswith("checkpoints/") else n, data)
    r = cli(server, "verify", "--bundle", str(renamed))
    no_traceback(r)
    assert r.returncode == 1 and "is not named after a tree size" in r.stdout
    for name, content in (("notzip.zip", b"PK not really"), ("empty.zip", None)):
        p = tmp_path / name
        if content is None:
            with zipfile.ZipFile(p, "w"):
                pass
        else:
            p.write_bytes(content)
        r = cli(server, "verify", "--bundle", str(p))
        no_traceback(r)
        assert r.returncode == EXIT_INVOER and name in r.stderr, r.stderr
    bad_cert = tmp_path / "cert.pem"
    bad_cert.write_text("-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n")
    for args in (("--bundle", str(b), "--cert", str(bad_cert)), ("--cert", str(bad_cert))):
        r = cli(server, "verify", *args)
        no_traceback(r)
        assert r.returncode == EXIT_INVOER and "not a PEM certificate" in r.stderr
    r = cli(server, "verify", "--bundle", str(tmp_path / "absent.zip"))
    no_traceback(r)
    assert r.returncode == EXIT_INVOER


def test_a_pipe_closed_early_ends_quietly_and_the_read_is_logged(server: Server) -> None:
    traffic(server, 3)
    before = log_size(server.db_url)
    env = {
        **os.environ,
        "VIR_DATABASE_URL": server.db_url,
        "VIR_DATA_DIR": str(server.log.parent / "data"),
        "VIR_OPERATOR": "test-operator",
    }
    r = subprocess.run(
        ["bash", "-c", f"'{sys.executable}' -m vir log list --limit 5000 | head -1; exit ${{PIPESTATUS[0]}}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert len(r.stdout.splitlines()) == 1
    assert log_size(server.db_url) > before


def test_consistency_between_sizes_that_are_not_checkpoints(server: Server) -> None:
    r = cli(server, "consistency", "100", "255")
    no_traceback(r)
    assert r.returncode == 1 and "no signed checkpoint of size" in r.stderr and "log checkpoints" in r.stderr
    r = cli(server, "consistency", "9", "3")
    no_traceback(r)
    assert r.returncode == 2


def test_unusable_database_is_one_line(tmp_path: Path) -> None:
    env = {"VIR_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "VIR_DATA_DIR": str(tmp_path)}
    r = cli(env, "list")
    no_traceback(r)
    assert r.returncode == 3 and "database" in r.stderr


# --- proofs in O(log n) ---------------------------------------------------------------------------


def test_proofs_from_stored_nodes_equal_proofs_from_all_leaves(tampered: tuple[str, dict[str, str]]) -> None:
    url, env = tampered
    from store.db import Database

    db = Database(url)
    assert cli(env, "checkpoint").returncode == 0  # every entry in the tree
    with db.transaction(write=False) as s:
        n = tree_size(url)
        leaves = bewijs.leaves(s, n)
        for size in sorted({1, 2, n // 2, n - 1, n}):
            for i in {0, size // 2, size - 1}:
                assert bewijs.inclusion_path(s, i, size) == merkle.inclusion_proof(leaves, i, size)
            for old in {1, size // 2 or 1, size}:
                assert bewijs.consistency(s, old, size) == merkle.consistency_proof(leaves, old, size)
            assert bewijs.root(s, size) == merkle.root(leaves[:size])
    db.dispose()
    # A changed interior node makes a proof that fails before it is handed out: named, not wrong.
    assert cli(env, "checkpoint").returncode == 0
    run_sql(url, "UPDATE logknoop SET hash = :h WHERE sleutel = :k", h=b"\x00" * 32, k=(0 << 6) | 1)
    r = cli(env, "proof", "2")
    no_traceback(r)
    assert r.returncode == 1 and "stored tree" in r.stderr


def test_receipt_proof_through_the_service_uses_stored_nodes(server: Server) -> None:
    svc = client(server)
    r = svc.MeldingAfgeven(stuurgegevens=sg(A), jongere={"bsn": bsn()}, meldingsbevoegde={"naam": "Anna"})
    receipt = r.stuurgegevens.ontvangstbewijs
    assert cli(server, "checkpoint").returncode == 0
    answer = svc.OntvangstbewijsOpvragen(
        stuurgegevens=sg(A), ontvangstbewijs={"volgnummer": receipt.volgnummer, "leafHash": receipt.leafHash}
    )
    assert answer.status == "bewezen"
    nodes = query(server.db_url, "SELECT count(*) FROM logknoop")[0][0]
    n = tree_size(server.db_url)
    assert nodes == n - bin(n).count("1")
    path = [base64.b64decode(h) if isinstance(h, str) else h for h in answer.auditpad]
    assert len(path) <= answer.boomgrootte.bit_length()
