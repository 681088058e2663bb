"""federation on need-to-know: remote parties by (system, OIN), pseudonyms, receivers, the hub, coordination, the register's pseudonyms

Revision ID: 0012_federatie_kennis
Revises: 0009_getuigen
Create Date: 2026-12-09
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0012_federatie_kennis"
down_revision = "0011_profielinhoud"
branch_labels = None
depends_on = None


def _zonder_fk_controle(werk: Callable[[], None]) -> None:
    """SQLite rebuilds a table to drop a constraint, and a rebuild of a table others refer to needs foreign keys
    off, which SQLite allows only outside a transaction: the rebuild commits on its own, checked before."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        werk()
        return
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    bind.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        werk()
        if bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall():
            raise RuntimeError("the rebuild of a table broke a foreign key")
        bind.exec_driver_sql("COMMIT")
    except BaseException:
        bind.exec_driver_sql("ROLLBACK")
        raise
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")  # the migration's own transaction goes on


def _oin_niet_uniek() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "instantie", recreate="always", naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}
        ) as b:
            b.drop_constraint("uq_instantie_oin", type_="unique")
    else:
        op.drop_constraint("instantie_oin_key", "instantie", type_="unique")


def upgrade() -> None:
    # An instantie of another system is (system, OIN): it never blocks registering one of ours with that OIN,
    # and a card of another system never lands on one of ours.
    _zonder_fk_controle(_oin_niet_uniek)
    op.create_index(
        "uq_instantie_lokaal",
        "instantie",
        ["oin"],
        unique=True,
        sqlite_where=sa.text("systeem IS NULL"),
        postgresql_where=sa.text("systeem IS NULL"),
    )
    op.create_index(
        "uq_instantie_extern",
        "instantie",
        ["systeem", "oin"],
        unique=True,
        sqlite_where=sa.text("systeem IS NOT NULL"),
        postgresql_where=sa.text("systeem IS NOT NULL"),
    )
    with op.batch_alter_table("jongere") as b:
        b.add_column(sa.Column("pseudoniem", sa.String(40), nullable=True))
    op.create_index("uq_jongere_pseudoniem", "jongere", ["pseudoniem"], unique=True)
    with op.batch_alter_table("peer") as b:
        b.add_column(sa.Column("hub", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("match") as b:
        b.add_column(sa.Column("regie_tijdstip", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("regie_systeem", sa.String(20), nullable=True))
    with op.batch_alter_table("brp_persoon") as b:
        b.add_column(sa.Column("pseudoniem", sa.String(40), nullable=True))
    op.create_index("ix_brp_persoon_pseudoniem", "brp_persoon", ["pseudoniem"])
    op.create_table(
        "federatie_afnemer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("melding_id", sa.String(36), nullable=False),
        sa.Column("peer", sa.String(20), nullable=False),
        sa.UniqueConstraint("melding_id", "peer", name="uq_afnemer_melding_peer"),
    )
    # Before this revision every melding of ours went to every active peer: they are its receivers.
    op.execute(
        "INSERT INTO federatie_afnemer (melding_id, peer) SELECT m.melding_id, p.systeem FROM melding m, peer p "
        "WHERE m.status = 'actief' AND m.bron_systeem IS NULL AND p.actief"
    )


def downgrade() -> None:
    op.drop_table("federatie_afnemer")
    op.drop_index("ix_brp_persoon_pseudoniem", "brp_persoon")
    with op.batch_alter_table("brp_persoon") as b:
        b.drop_column("pseudoniem")
    with op.batch_alter_table("match") as b:
        b.drop_column("regie_systeem")
        b.drop_column("regie_tijdstip")
    with op.batch_alter_table("peer") as b:
        b.drop_column("hub")
    op.drop_index("uq_jongere_pseudoniem", "jongere")
    with op.batch_alter_table("jongere") as b:
        b.drop_column("pseudoniem")
    op.drop_index("uq_instantie_extern", "instantie")
    op.drop_index("uq_instantie_lokaal", "instantie")
    with op.batch_alter_table("instantie") as b:
        b.create_unique_constraint("instantie_oin_key", ["oin"])
