"""federation: remote instanties and meldingen, peers, outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instantie") as b:
        b.add_column(sa.Column("systeem", sa.String(20), nullable=True))
    with op.batch_alter_table("melding") as b:
        b.add_column(sa.Column("bron_systeem", sa.String(20), nullable=True))
        b.add_column(sa.Column("bron_melding_id", sa.String(36), nullable=True))
        b.create_index("uq_melding_bron", ["bron_systeem", "bron_melding_id"], unique=True)
    op.create_table(
        "peer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("systeem", sa.String(20), nullable=False, unique=True),
        sa.Column("url", sa.String(400), nullable=False),
        sa.Column("oin", sa.String(20), nullable=False),
        sa.Column("actief", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "federatie_uitgaand",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("peer", sa.String(20), nullable=False),
        sa.Column("soort", sa.String(16), nullable=False),
        sa.Column("bron_systeem", sa.String(20), nullable=False),
        sa.Column("bron_melding_id", sa.String(36), nullable=False),
        sa.Column("versie", sa.Integer(), nullable=False),
        sa.Column("inhoud", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pogingen", sa.Integer(), nullable=False),
        sa.Column("volgende_poging", sa.DateTime(timezone=True), nullable=False),
        sa.Column("laatste_fout", sa.String(400), nullable=True),
        sa.Column("aangemaakt", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_uitgaand_wachtend", "federatie_uitgaand", ["status", "volgende_poging"])
    op.create_table(
        "federatie_intrekking",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bron_systeem", sa.String(20), nullable=False),
        sa.Column("bron_melding_id", sa.String(36), nullable=False),
        sa.Column("versie", sa.Integer(), nullable=False),
        sa.UniqueConstraint("bron_systeem", "bron_melding_id", name="uq_intrekking_bron"),
    )


def downgrade() -> None:
    op.drop_table("federatie_intrekking")
    op.drop_table("federatie_uitgaand")
    op.drop_table("peer")
    with op.batch_alter_table("melding") as b:
        b.drop_index("uq_melding_bron")
        b.drop_column("bron_melding_id")
        b.drop_column("bron_systeem")
    with op.batch_alter_table("instantie") as b:
        b.drop_column("systeem")
