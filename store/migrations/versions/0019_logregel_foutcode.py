"""the message log's entries with a fault code get an index of their own

Revision ID: 0019_logregel_foutcode
Revises: 0018_rijsleutel
Create Date: 2026-12-05

An operator's search for a fault code (``vir-gateway log search --foutcode``, the console's log page) found its
entries by reading the log from the newest entry backwards until it had a page of them; faults are rare, so that
read far back (118 ms in a million-entry log for a code in one filing of 2,000), and all of it when the code had
fewer entries than a page. The index (0.8 ms there) holds only the entries that carry a code (refusals and their
kind), so a filing that is answered writes nothing to it. A search compares the code with a value, which implies it
is filled, so both databases use the index for it.

Building it reads the log once, inside the migration's transaction: `vir-gateway db upgrade` took 1.6 s on a SQLite
log of a million entries with 1.2 kB payloads (2 GB, `bench/logzoek.py`), on two cores.
"""

from alembic import op
from sqlalchemy import text

revision = "0019_logregel_foutcode"
down_revision = "0018_rijsleutel"
branch_labels = None
depends_on = None

_WAAR = "foutcode IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_logregel_foutcode",
        "logregel",
        ["foutcode"],
        sqlite_where=text(_WAAR),
        postgresql_where=text(_WAAR),
    )


def downgrade() -> None:
    op.drop_index("ix_logregel_foutcode", table_name="logregel")
