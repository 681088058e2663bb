"""``vir-gateway federatie demo`` as a user starts it: each node's OIN, instanties and data directory are
printed, the nodes live under ``VIR_DATA_DIR``, and the demo says how to clean up."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from federation.demo import SYSTEMEN, instantie_oin
from tests.test_federation import free_ports


def _signalen(pid: int) -> str:
    """The signal state of a process (blocked, ignored, caught) and where it waits, for a failure message."""
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except OSError as exc:
        return str(exc)
    return " ".join(r for r in status if r.startswith(("SigBlk", "SigIgn", "SigCgt", "State"))) + f" wchan {wchan}"


@pytest.mark.slow
def test_the_demo_prints_what_a_user_needs_and_keeps_its_data_under_vir_data_dir(tmp_path: Path) -> None:
    env = {**os.environ, "VIR_DATA_DIR": str(tmp_path)}
    env.pop("VIR_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vir", "federatie", "demo", "--basispoort", str(free_ports(4))],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    regels: queue.Queue[str] = queue.Queue()
    lezer = threading.Thread(target=lambda: [regels.put(r) for r in proc.stdout or ()], daemon=True)
    lezer.start()
    uitvoer: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while not any(r.startswith("Ctrl-C") for r in uitvoer):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(uitvoer)
            try:
                uitvoer.append(regels.get(timeout=1))
            except queue.Empty:
                continue
    finally:
        signalen = _signalen(proc.pid)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            uitvoer.append(f"no exit within 120 s of SIGINT; before it: {signalen}; now: {_signalen(proc.pid)}\n")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lezer.join(30)
    if proc.stdout:
        proc.stdout.close()
    while not regels.empty():
        uitvoer.append(regels.get())
    tekst = "".join(uitvoer)
    assert proc.returncode == 0, tekst
    basis = (tmp_path / "federatie-mesh").resolve()
    for nummer, systeem in enumerate(SYSTEMEN, start=2):
        node = basis / systeem.lower()
        assert f"{systeem:<13} OIN {nummer:08d}000000000000" in tekst
        assert ", ".join(instantie_oin(nummer, i) for i in range(3)) in tekst
        assert f"data {node}" in tekst
        assert (node / "vir-gateway.sqlite3").is_file()
    assert f"to clean up: rm -r {basis}" in uitvoer[-1]
