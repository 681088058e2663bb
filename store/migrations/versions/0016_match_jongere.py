"""an index on match.jongere_id: deleting youths no longer scans every match

Revision ID: 0016_match_jongere
Revises: 0015_logvolgnummer
Create Date: 2026-12-02

The only index on ``match.jongere_id`` was the partial unique index of active matches, which neither a lookup
of a youth's ended matches nor the foreign-key check of a deleted youth can use: the retention run and an
erasure read and checked the whole table for every youth they forgot (at a million meldingen 0.7 s for
twenty youths; ``bench/SCHAAL.md``).
"""

from alembic import op

revision = "0016_match_jongere"
down_revision = "0015_logvolgnummer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_match_jongere", "match", ["jongere_id"])


def downgrade() -> None:
    op.drop_index("ix_match_jongere", table_name="match")
