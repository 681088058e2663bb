"""profiles, shielding, care coordination, counts, embedded population register

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    onwaar = sa.false()
    with op.batch_alter_table("instantie") as b:
        b.add_column(sa.Column("melding_jaren", sa.Integer(), nullable=True))
        b.add_column(sa.Column("mag_regievoeren", sa.Boolean(), nullable=False, server_default=onwaar))
        b.add_column(sa.Column("mag_afschermen", sa.Boolean(), nullable=False, server_default=onwaar))
        b.add_column(sa.Column("afschermcontact", sa.Text(), nullable=True))
        b.add_column(sa.Column("auto_casustypen", sa.Text(), nullable=False, server_default="[]"))
        b.add_column(sa.Column("bsn_toegestaan", sa.Boolean(), nullable=False, server_default=sa.true()))
        b.add_column(sa.Column("callback_url", sa.String(400), nullable=True))
        b.add_column(sa.Column("push_tot", sa.BigInteger(), nullable=False, server_default="0"))
        b.add_column(sa.Column("push_pogingen", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("push_volgende", sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column("push_fout", sa.String(400), nullable=True))
    with op.batch_alter_table("melding") as b:
        b.add_column(sa.Column("afgeschermd", sa.Boolean(), nullable=False, server_default=onwaar))
        b.add_column(sa.Column("verloop_gemeld", sa.Boolean(), nullable=False, server_default=onwaar))
        b.add_column(sa.Column("archief_gemeld", sa.Boolean(), nullable=False, server_default=onwaar))
    with op.batch_alter_table("match") as b:
        b.add_column(sa.Column("regievoerder_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("leden", sa.Text(), nullable=True))
        b.create_foreign_key("fk_match_regievoerder", "instantie", ["regievoerder_id"], ["id"])
    op.create_table(
        "afstemming",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("match_id", sa.Integer(), sa.ForeignKey("match.id", ondelete="CASCADE"), nullable=False),
        sa.Column("instantie_id", sa.Integer(), sa.ForeignKey("instantie.id"), nullable=False),
        sa.Column("datum", sa.Date(), nullable=False),
        sa.Column("vastgelegd", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_afstemming_match_id", "afstemming", ["match_id"])
    op.create_table(
        "telling",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tijdstip", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instantie_id", sa.Integer(), sa.ForeignKey("instantie.id"), nullable=False),
        sa.Column("soort", sa.String(16), nullable=False),
    )
    op.create_index("ix_telling_tijdstip", "telling", ["tijdstip"])
    op.create_table(
        "brp_adres",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("postcode", sa.String(6), nullable=False),
        sa.Column("huisnummer", sa.Integer(), nullable=False),
        sa.Column("gemeente", sa.String(4), nullable=False),
        sa.Column("instelling", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "brp_persoon",
        sa.Column("bsn", sa.String(9), primary_key=True),
        sa.Column("geboortedatum", sa.Date(), nullable=False),
        sa.Column("geslacht", sa.String(1), nullable=False),
        sa.Column("overlijdensdatum", sa.Date(), nullable=True),
        sa.Column("adres_id", sa.String(16), nullable=True),
    )
    op.create_index("ix_brp_persoon_adres_id", "brp_persoon", ["adres_id"])
    op.create_table(
        "brp_ouder",
        sa.Column("kind_bsn", sa.String(9), primary_key=True),
        sa.Column("ouder_bsn", sa.String(9), primary_key=True),
    )
    op.create_index("ix_brp_ouder_ouder_bsn", "brp_ouder", ["ouder_bsn"])


def downgrade() -> None:
    op.drop_table("brp_ouder")
    op.drop_table("brp_persoon")
    op.drop_table("brp_adres")
    op.drop_table("telling")
    op.drop_table("afstemming")
    with op.batch_alter_table("match") as b:
        b.drop_constraint("fk_match_regievoerder", type_="foreignkey")
        b.drop_column("leden")
        b.drop_column("regievoerder_id")
    with op.batch_alter_table("melding") as b:
        for c in ("archief_gemeld", "verloop_gemeld", "afgeschermd"):
            b.drop_column(c)
    with op.batch_alter_table("instantie") as b:
        for c in (
            "push_fout", "push_volgende", "push_pogingen", "push_tot", "callback_url", "bsn_toegestaan",
            "auto_casustypen", "afschermcontact", "mag_afschermen", "mag_regievoeren", "melding_jaren",
        ):
            b.drop_column(c)
