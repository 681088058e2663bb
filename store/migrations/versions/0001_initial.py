"""initial: instanties, jongeren, meldingen, matches, signalen, berichten

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ACTIEF = sa.text("status = 'actief'")


def upgrade() -> None:
    op.create_table(
        "instantie",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("oin", sa.String(20), nullable=False, unique=True),
        sa.Column("naam", sa.String(200), nullable=False),
        sa.Column("vestiging", sa.String(200), nullable=True),
        sa.Column("actief", sa.Boolean(), nullable=False),
        sa.Column("aangemaakt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signaal_uitgegeven", sa.BigInteger(), nullable=False),
        sa.Column("signaal_bevestigd", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "jongere",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sleutel", sa.String(40), nullable=False, unique=True),
        sa.Column("geboortedatum", sa.Date(), nullable=True),
    )
    op.create_table(
        "melding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("melding_id", sa.String(36), nullable=False, unique=True),
        sa.Column("instantie_id", sa.Integer(), sa.ForeignKey("instantie.id"), nullable=False),
        sa.Column("jongere_id", sa.Integer(), sa.ForeignKey("jongere.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("afgegeven", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gewijzigd", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geplande_einddatum", sa.Date(), nullable=False),
        sa.Column("beeindigd", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reden", sa.String(32), nullable=True),
        sa.Column("archief_tot", sa.Date(), nullable=True),
        sa.Column("versie", sa.Integer(), nullable=False),
        sa.Column("mb_naam", sa.String(200), nullable=False),
        sa.Column("mb_functie", sa.String(200), nullable=True),
        sa.Column("mb_telefoon", sa.String(40), nullable=True),
        sa.Column("mb_email", sa.String(254), nullable=True),
        sa.Column("bronsysteem", sa.String(80), nullable=False),
    )
    op.create_index("uq_melding_actief", "melding", ["instantie_id", "jongere_id"], unique=True,
                    sqlite_where=ACTIEF, postgresql_where=ACTIEF)
    op.create_index("ix_melding_jongere_status", "melding", ["jongere_id", "status"])
    op.create_index("ix_melding_instantie_status", "melding", ["instantie_id", "status"])
    op.create_table(
        "match",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("match_id", sa.String(36), nullable=False, unique=True),
        sa.Column("jongere_id", sa.Integer(), sa.ForeignKey("jongere.id"), nullable=False),
        sa.Column("soort", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ontstaan", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beeindigd", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("uq_match_actief", "match", ["jongere_id", "soort"], unique=True,
                    sqlite_where=ACTIEF, postgresql_where=ACTIEF)
    op.create_table(
        "signaal",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instantie_id", sa.Integer(), sa.ForeignKey("instantie.id"), nullable=False),
        sa.Column("volgnummer", sa.BigInteger(), nullable=False),
        sa.Column("soort", sa.String(32), nullable=False),
        sa.Column("tijdstip", sa.DateTime(timezone=True), nullable=False),
        sa.Column("melding_id", sa.String(36), nullable=False),
        sa.Column("inhoud", sa.Text(), nullable=True),
        sa.UniqueConstraint("instantie_id", "volgnummer", name="uq_signaal_volgnummer"),
    )
    op.create_table(
        "bericht",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("zender_oin", sa.String(20), nullable=False),
        sa.Column("bericht_id", sa.String(36), nullable=False),
        sa.Column("operatie", sa.String(64), nullable=False),
        sa.Column("verzoek_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("antwoord", sa.LargeBinary(), nullable=False),
        sa.Column("tijdstip", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("zender_oin", "bericht_id", name="uq_bericht_zender"),
    )


def downgrade() -> None:
    for table in ("bericht", "signaal", "match", "melding", "jongere", "instantie"):
        op.drop_table(table)
