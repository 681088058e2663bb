"""registerstand: a counter of changes to the instanties' profiles and the peers, raised by triggers

Revision ID: 0013_registerstand
Revises: 0009_getuigen
Create Date: 2026-12-02

A process keeps the register it read (``store/register.py``) while the counter stays the same. The triggers
fire on every insert and delete of an instantie or a peer, on every update of a peer, and on an update of an
instantie's identity or profile columns; not on its signal counters and push state, which change with the
traffic. ``tests/test_register.py`` changes every column and holds the list below to the model.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_registerstand"
down_revision = "0012_federatie_kennis"
branch_labels = None
depends_on = None

# The instantie columns a process keeps (written out: a migration does not change with the models).
PROFIEL = (
    "oin",
    "naam",
    "vestiging",
    "actief",
    "aangemaakt",
    "systeem",
    "melding_jaren",
    "mag_regievoeren",
    "mag_afschermen",
    "afschermcontact",
    "auto_casustypen",
    "bsn_toegestaan",
    "callback_url",
    "certificaat",
    "wss_verplicht",
    "systeem_inzage",
)

_VERHOOG = "UPDATE registerstand SET versie = versie + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "registerstand",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("versie", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO registerstand (id, versie) VALUES (1, 0)")
    kolommen = ", ".join(PROFIEL)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION registerstand_verhogen() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_VERHOOG}; RETURN NULL; END $$"
        )
        for naam, wanneer, tabel in (
            ("registerstand_peer", "INSERT OR UPDATE OR DELETE", "peer"),
            ("registerstand_instantie", "INSERT OR DELETE", "instantie"),
            ("registerstand_profiel", f"UPDATE OF {kolommen}", "instantie"),
        ):
            op.execute(
                f"CREATE TRIGGER {naam} AFTER {wanneer} ON {tabel} "
                "FOR EACH STATEMENT EXECUTE FUNCTION registerstand_verhogen()"
            )
        return
    for naam, wanneer, tabel in (
        ("registerstand_peer_in", "INSERT", "peer"),
        ("registerstand_peer_bij", "UPDATE", "peer"),
        ("registerstand_peer_uit", "DELETE", "peer"),
        ("registerstand_instantie_in", "INSERT", "instantie"),
        ("registerstand_instantie_uit", "DELETE", "instantie"),
        ("registerstand_profiel", f"UPDATE OF {kolommen}", "instantie"),
    ):
        op.execute(f"CREATE TRIGGER {naam} AFTER {wanneer} ON {tabel} BEGIN {_VERHOOG}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for naam, tabel in (
            ("registerstand_peer", "peer"),
            ("registerstand_instantie", "instantie"),
            ("registerstand_profiel", "instantie"),
        ):
            op.execute(f"DROP TRIGGER {naam} ON {tabel}")
        op.execute("DROP FUNCTION registerstand_verhogen()")
    else:
        for naam in (
            "registerstand_peer_in",
            "registerstand_peer_bij",
            "registerstand_peer_uit",
            "registerstand_instantie_in",
            "registerstand_instantie_uit",
            "registerstand_profiel",
        ):
            op.execute(f"DROP TRIGGER {naam}")
    op.drop_table("registerstand")
