"""Profile: may the instantie's system read matches and signals without naming the professional (gebruiker)

NULL follows the mode: allowed in development mode, refused otherwise (NEN 7513: every read accountable to
a person); an operator sets it per instantie with ``instantie profiel --systeeminzage | --geen-systeeminzage``.

Revision ID: 0006_systeeminzage
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_systeeminzage"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instantie") as b:
        b.add_column(sa.Column("systeem_inzage", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instantie") as b:
        b.drop_column("systeem_inzage")
