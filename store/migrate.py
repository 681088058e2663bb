"""Bring a database to the newest schema with Alembic (run once, before serving)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from store.db import Database


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database) -> None:
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    # SQLite: the migrations' writes (a table rebuilt holds a copy of all its rows) out of the write-ahead log, and
    # the log's file back to nothing, rather than kept at that size until some later checkpoint truncates it.
    db.wal_legen()
