"""the unique indexes of columns most rows leave empty hold only the rows that fill them

Revision ID: 0017_gedeeltelijke_uniek
Revises: 0016_match_jongere
Create Date: 2026-12-04

``melding (bron_systeem, bron_melding_id)`` is filled only for another system's melding, ``jongere.pseudoniem``
only for a youth exchanged with other systems; both indexes held an entry for every row, so every filing wrote an
index page for nothing (on SQLite a whole page to the write-ahead log: 29.2 pages a filing before, 27.5 after).
Uniqueness is unchanged (empty values never collided), and every lookup by these columns compares them with a
value, which implies they are filled, so both databases still use the indexes for it.
"""

from alembic import op
from sqlalchemy import text

revision = "0017_gedeeltelijke_uniek"
down_revision = "0016_match_jongere"
branch_labels = None
depends_on = None

_INDEXEN = (
    ("uq_melding_bron", "melding", ["bron_systeem", "bron_melding_id"], "bron_systeem IS NOT NULL"),
    ("uq_jongere_pseudoniem", "jongere", ["pseudoniem"], "pseudoniem IS NOT NULL"),
)


def upgrade() -> None:
    for naam, tabel, kolommen, waar in _INDEXEN:
        op.drop_index(naam, table_name=tabel)
        op.create_index(
            naam, tabel, kolommen, unique=True, sqlite_where=text(waar), postgresql_where=text(waar)
        )


def downgrade() -> None:
    for naam, tabel, kolommen, _ in _INDEXEN:
        op.drop_index(naam, table_name=tabel)
        op.create_index(naam, tabel, kolommen, unique=True)
