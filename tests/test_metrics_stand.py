"""/metrics reports the store's state: the federation outbox per peer (dead deliveries included), the
log, the newest checkpoint and the newest retention run."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support import A, bsn, client, free_port, sg, start_server


def vir(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``vir-gateway ARGS`` as an operator runs it, beside the running gateway."""
    return subprocess.run(
        [sys.executable, "-m", "vir", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def gauges(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(url + "/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_outbox_dead_letters_checkpoint_and_retention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"VIR_DATA_DIR": str(tmp_path / "data"), "VIR_CHECKPOINT_SECONDEN": "0.1", "VIR_FEDERATIE_MAX_POGINGEN": "1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    srv = start_server(tmp_path, None, workers=1, extra_env=env)
    try:
        # A peer that is not there: nothing listens on its port.
        peer = ["federatie", "peer", "add", "--systeem", "ZVJ", "--oin", "00000001999999999000"]
        assert vir(env, tmp_path, *peer, "--url", f"http://127.0.0.1:{free_port()}/v1/federatie").returncode == 0
        client(srv).MeldingAfgeven(
            stuurgegevens=sg(A),
            jongere={"bsn": bsn()},
            meldingsbevoegde={"naam": "A. de Vries"},
            geplandeEinddatum=date.today() + timedelta(days=100),
        )
        g = gauges(srv.url)
        assert g[("vir_outbox_deliveries", (("peer", "ZVJ"), ("status", "wachtend")))] == 1
        assert g[("vir_outbox_dead", (("peer", "ZVJ"),))] == 0
        assert ("vir_retention_last_run_timestamp_seconds", ()) not in g

        # One attempt, refused: with at most one attempt, the delivery is dead. (A process of its own, as
        # an operator runs it.)
        assert vir(env, tmp_path, "worker", "--once").returncode == 0
        assert vir(env, tmp_path, "onderhoud").returncode == 0
        g = gauges(srv.url)
        assert g[("vir_outbox_dead", (("peer", "ZVJ"),))] == 1
        assert g[("vir_outbox_deliveries", (("peer", "ZVJ"), ("status", "dood")))] == 1
        assert g[("vir_log_entries", ())] >= 3
        assert 0 <= g[("vir_checkpoint_age_seconds", ())] < 600
        assert g[("vir_retention_last_run_timestamp_seconds", ())] > 0
        assert g[("vir_retention_last_run_items", (("kind", "vernietigd"),))] == 0
    finally:
        srv.stop()
