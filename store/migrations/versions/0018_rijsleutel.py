"""SQLite: the message log's entry number and a tree node's key are their tables' own row keys

Revision ID: 0018_rijsleutel
Revises: 0017_gedeeltelijke_uniek
Create Date: 2026-12-04

SQLite makes a primary key the table's row key (the rowid) only when its type is exactly INTEGER, which holds
64 bits as BIGINT does; ``logregel.volgnummer`` and ``logknoop.sleutel`` were BIGINT, so each table was a b-tree
by rowid plus a second b-tree by its key, and every entry and node was written to both. A filing writes two
entries and their nodes: 2.2 of its 26.4 pages in the write-ahead log were those second b-trees
(``bench/README.md``). The tables are rebuilt with the same columns, rows, values and indexes. PostgreSQL keeps
BIGINT and is not touched.

The rebuild copies the log once; on a large SQLite store it takes a while at the first start after the upgrade
(about 22 s per million entries with 1.2 kB payloads; 200,000 measured on two cores), inside the migration's
transaction, so an interruption leaves the old tables as they were. The old tables' pages are zeroed as they are freed (``secure_delete``, ``store/db.py``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_rijsleutel"
down_revision = "0017_gedeeltelijke_uniek"
branch_labels = None
depends_on = None

_SLEUTELS = (("logregel", "volgnummer"), ("logknoop", "sleutel"))


def _herbouw(naar: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for tabel, kolom in _SLEUTELS:
        with op.batch_alter_table(tabel, recreate="always") as b:
            b.alter_column(kolom, existing_type=sa.BigInteger(), type_=naar, existing_nullable=False)


def upgrade() -> None:
    _herbouw(sa.Integer())


def downgrade() -> None:
    _herbouw(sa.BigInteger())
