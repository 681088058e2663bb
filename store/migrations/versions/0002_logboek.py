"""message log: entries, head, checkpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logregel",
        sa.Column("volgnummer", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("tijdstip", sa.String(32), nullable=False),
        sa.Column("soort", sa.String(16), nullable=False),
        sa.Column("operatie", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("bericht_id", sa.String(64), nullable=True),
        sa.Column("kruisverwijzing", sa.String(64), nullable=True),
        sa.Column("foutcode", sa.String(64), nullable=True),
        sa.Column("correlatie_id", sa.String(36), nullable=True),
        sa.Column("payload_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("payload_lengte", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("payload_verwijderd", sa.String(32), nullable=True),
        sa.Column("leaf", sa.LargeBinary(32), nullable=False),
    )
    op.create_index("ix_logregel_tijdstip", "logregel", ["tijdstip"])
    op.create_index("ix_logregel_bericht", "logregel", ["bericht_id"])
    op.create_index("ix_logregel_actor", "logregel", ["actor"])
    loghoofd = op.create_table(
        "loghoofd",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("grootte", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("wortel", sa.LargeBinary(32), nullable=False),
    )
    op.bulk_insert(loghoofd, [{"id": 1, "grootte": 0, "frontier": b"", "wortel": hashlib.sha256(b"").digest()}])
    op.create_table(
        "checkpoint",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("grootte", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("wortel", sa.LargeBinary(32), nullable=False),
        sa.Column("tijdstip", sa.String(32), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    for table in ("checkpoint", "loghoofd", "logregel"):
        op.drop_table(table)
