"""operators of the console: person, role and certificate fingerprint

Revision ID: 0008_beheerders
Revises: 0007_logboom
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_beheerders"
down_revision = "0007_logboom"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "beheerder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("naam", sa.String(80), nullable=False, unique=True),
        sa.Column("rol", sa.String(20), nullable=False),
        sa.Column("vingerafdruk", sa.String(64), nullable=False, unique=True),
        sa.Column("onderwerp", sa.String(400), nullable=False),
        sa.Column("actief", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("aangemaakt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingetrokken", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("beheerder")
