"""The layers of docs/architecture.md, read from the source: imports point down, no cycles, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGES = ("gateway", "store", "federation", "vir")


def _modules() -> dict[str, Path]:
    uit = {}
    for pakket in PACKAGES:
        for pad in (ROOT / pakket).rglob("*.py"):
            if "migrations" in pad.parts:
                continue
            delen = list(pad.relative_to(ROOT).with_suffix("").parts)
            if delen[-1] == "__init__":
                delen.pop()
            uit[".".join(delen)] = pad
    return uit


MODULES = _modules()


def _imports(naam: str, pad: Path) -> set[str]:
    """Our modules that ``naam`` imports, at any depth of its code (lazy imports included)."""
    uit: set[str] = set()
    pakket = naam if pad.name == "__init__.py" else naam.rpartition(".")[0]
    for knoop in ast.walk(ast.parse(pad.read_text(encoding="utf-8"))):
        doelen: list[str] = []
        if isinstance(knoop, ast.Import):
            doelen = [a.name for a in knoop.names]
        elif isinstance(knoop, ast.ImportFrom):
            basis = knoop.module or ""
            if knoop.level:
                basis = ".".join(
                    pakket.split(".")[: len(pakket.split(".")) - knoop.level + 1] + ([basis] if basis else [])
                )
            # ``from pakket import module`` depends on that module, not on the package's __init__.
            doelen = [f"{basis}.{a.name}" if f"{basis}.{a.name}" in MODULES else basis for a in knoop.names]
        for doel in doelen:
            if doel in MODULES and doel != naam:
                uit.add(doel)
    return uit


GRAAF = {naam: _imports(naam, pad) for naam, pad in MODULES.items()}


def _pakket(naam: str) -> str:
    return naam.split(".")[0]


def test_the_graph_is_read() -> None:
    # A reader that found nothing would make every test below pass.
    assert "gateway.pipeline" in GRAAF["gateway.ketenpartner"]
    assert "store.repository" in GRAAF["gateway.pipeline"]
    assert "federation.service" in GRAAF["vir.app"]


@pytest.mark.parametrize(
    ("van", "verboden"),
    [
        ("store", {"gateway", "federation", "vir"}),
        ("gateway", {"federation", "vir"}),
        ("federation", {"vir"}),
    ],
)
def test_layers_point_down(van: str, verboden: set[str]) -> None:
    fout = sorted(
        f"{naam} imports {doel}"
        for naam, doelen in GRAAF.items()
        if _pakket(naam) == van
        for doel in doelen
        if _pakket(doel) in verboden
    )
    assert fout == []


def test_federation_uses_the_pipeline_not_the_chain_partner_service() -> None:
    fout = sorted(
        naam for naam, doelen in GRAAF.items() if _pakket(naam) == "federation" and "gateway.ketenpartner" in doelen
    )
    assert fout == []


def test_the_domain_depends_only_on_the_errors() -> None:
    fout = sorted(
        f"{naam} imports {doel}"
        for naam, doelen in GRAAF.items()
        if naam.startswith("gateway.domain")
        for doel in doelen
        if not (doel.startswith("gateway.domain") or doel == "gateway.errors")
    )
    assert fout == []


def test_no_import_cycles() -> None:
    # Tarjan's strongly connected components over the module graph.
    index: dict[str, int] = {}
    laag: dict[str, int] = {}
    stapel: list[str] = []
    op_stapel: set[str] = set()
    cirkels: list[list[str]] = []
    teller = 0

    def bezoek(v: str) -> None:
        nonlocal teller
        index[v] = laag[v] = teller
        teller += 1
        stapel.append(v)
        op_stapel.add(v)
        for w in GRAAF[v]:
            if w not in index:
                bezoek(w)
                laag[v] = min(laag[v], laag[w])
            elif w in op_stapel:
                laag[v] = min(laag[v], index[w])
        if laag[v] == index[v]:
            groep = []
            while True:
                w = stapel.pop()
                op_stapel.discard(w)
                groep.append(w)
                if w == v:
                    break
            if len(groep) > 1:
                cirkels.append(sorted(groep))

    for v in sorted(GRAAF):
        if v not in index:
            bezoek(v)
    assert cirkels == []


def test_no_module_over_500_lines() -> None:
    groot = {naam: n for naam, pad in MODULES.items() if (n := len(pad.read_text(encoding="utf-8").splitlines())) > 500}
    assert groot == {}


def _sqlalchemy_namen(pad: Path) -> set[str]:
    """What a module takes from SQLAlchemy: ``module.name`` for each name imported, at any depth."""
    uit: set[str] = set()
    for knoop in ast.walk(ast.parse(pad.read_text(encoding="utf-8"))):
        if isinstance(knoop, ast.Import):
            uit.update(a.name for a in knoop.names if a.name.split(".")[0] == "sqlalchemy")
        elif isinstance(knoop, ast.ImportFrom) and (knoop.module or "").split(".")[0] == "sqlalchemy":
            uit.update(f"{knoop.module}.{a.name}" for a in knoop.names)
    return uit


def test_statements_live_in_the_store() -> None:
    # Above the store, SQLAlchemy gives only the session that is passed down and the errors that are
    # translated: every select, insert, update, delete and text is a named function in store/.
    toegestaan = {"sqlalchemy.orm.Session"}
    fout = sorted(
        f"{naam} imports {wat}"
        for naam, pad in MODULES.items()
        if _pakket(naam) in {"gateway", "federation"}
        for wat in _sqlalchemy_namen(pad)
        if wat not in toegestaan and not wat.startswith("sqlalchemy.exc.")
    )
    assert fout == []
    # The reader sees the imports it must allow (else the test would pass on a reader that finds nothing).
    assert "sqlalchemy.orm.Session" in _sqlalchemy_namen(MODULES["gateway.pipeline"])
