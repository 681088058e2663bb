"""witnesses: peers' checkpoints we cosigned, their cosignatures of ours, split views, checkpoint keys

Revision ID: 0009_getuigen
Revises: 0008_beheerders
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_getuigen"
down_revision = "0008_beheerders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("peer") as batch:
        batch.add_column(sa.Column("checkpoint_certificaat", sa.Text(), nullable=True))
    op.create_table(
        "getuigd_checkpoint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("peer", sa.String(20), nullable=False),
        sa.Column("grootte", sa.BigInteger(), nullable=False),
        sa.Column("wortel", sa.LargeBinary(32), nullable=False),
        sa.Column("checkpoint", sa.LargeBinary(), nullable=False),
        sa.Column("cosignatuur", sa.LargeBinary(), nullable=False),
        sa.Column("tijdstip", sa.String(32), nullable=False),
        sa.UniqueConstraint("peer", "grootte", name="uq_getuigd_peer_grootte"),
    )
    op.create_table(
        "cosignatuur",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("peer", sa.String(20), nullable=False),
        sa.Column("grootte", sa.BigInteger(), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.Column("tijdstip", sa.String(32), nullable=False),
        sa.UniqueConstraint("peer", "grootte", name="uq_cosignatuur_peer_grootte"),
    )
    op.create_index("ix_cosignatuur_grootte", "cosignatuur", ["grootte"])
    op.create_table(
        "gesplitst_zicht",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("peer", sa.String(20), nullable=False),
        sa.Column("tijdstip", sa.String(32), nullable=False),
        sa.Column("reden", sa.String(200), nullable=False),
        sa.Column("bekend_grootte", sa.BigInteger(), nullable=False),
        sa.Column("bekend_checkpoint", sa.LargeBinary(), nullable=False),
        sa.Column("nieuw_grootte", sa.BigInteger(), nullable=False),
        sa.Column("nieuw_checkpoint", sa.LargeBinary(), nullable=False),
        sa.Column("volgnummer", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_gesplitst_zicht_peer", "gesplitst_zicht", ["peer"])


def downgrade() -> None:
    op.drop_table("gesplitst_zicht")
    op.drop_index("ix_cosignatuur_grootte", "cosignatuur")
    op.drop_table("cosignatuur")
    op.drop_table("getuigd_checkpoint")
    with op.batch_alter_table("peer") as batch:
        batch.drop_column("checkpoint_certificaat")
