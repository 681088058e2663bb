"""profile content (privacy protocol, target group, criteria, procedures, coordination role), designated
professionals, and what management information counts per municipality

Revision ID: 0011_profielinhoud
Revises: 0008_beheerders
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_profielinhoud"
down_revision = "0009_getuigen"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profielinhoud",
        sa.Column("instantie_id", sa.Integer(), sa.ForeignKey("instantie.id"), primary_key=True),
        sa.Column("privacy_titel", sa.String(200), nullable=True),
        sa.Column("privacy_versie", sa.String(40), nullable=True),
        sa.Column("privacy_link", sa.String(400), nullable=True),
        sa.Column("doelgroep", sa.Text(), nullable=True),
        sa.Column("signaleringscriteria", sa.Text(), nullable=True),
        sa.Column("procedures", sa.Text(), nullable=True),
        sa.Column("regierol", sa.Text(), nullable=True),
        sa.Column("regievoorkeur", sa.Integer(), nullable=True),
        sa.Column("gemeente", sa.String(4), nullable=True),
        sa.Column("sector", sa.String(40), nullable=True),
        sa.Column("aanwijzing", sa.Boolean(), nullable=True),
    )
    op.create_table(
        "meldingsbevoegde",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instantie_id", sa.Integer(), sa.ForeignKey("instantie.id"), nullable=False),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("naam", sa.String(200), nullable=False),
        sa.Column("functie", sa.String(200), nullable=True),
        sa.Column("telefoon", sa.String(40), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("actief", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("aangewezen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingetrokken", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("instantie_id", "code", name="uq_meldingsbevoegde_code"),
    )
    with op.batch_alter_table("melding") as b:
        b.add_column(sa.Column("mb_code", sa.String(80), nullable=True))
        b.add_column(sa.Column("gemeente", sa.String(4), nullable=True))
    with op.batch_alter_table("telling") as b:
        b.add_column(sa.Column("gemeente", sa.String(4), nullable=True))
        b.add_column(sa.Column("waarde", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telling") as b:
        b.drop_column("waarde")
        b.drop_column("gemeente")
    with op.batch_alter_table("melding") as b:
        b.drop_column("gemeente")
        b.drop_column("mb_code")
    op.drop_table("meldingsbevoegde")
    op.drop_table("profielinhoud")
