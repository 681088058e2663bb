"""WS-Security: registered certificates (instanties, peers), the profile flag, the replay store of MessageIDs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instantie") as b:
        b.add_column(sa.Column("certificaat", sa.Text(), nullable=True))
        b.add_column(sa.Column("wss_verplicht", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("peer") as b:
        b.add_column(sa.Column("certificaat", sa.Text(), nullable=True))
    op.create_table(
        "wsa_bericht",
        sa.Column("message_id", sa.String(200), primary_key=True),
        sa.Column("tijdstip", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_wsa_bericht_tijdstip", "wsa_bericht", ["tijdstip"])


def downgrade() -> None:
    op.drop_table("wsa_bericht")
    with op.batch_alter_table("peer") as b:
        b.drop_column("certificaat")
    with op.batch_alter_table("instantie") as b:
        b.drop_column("wss_verplicht")
        b.drop_column("certificaat")
