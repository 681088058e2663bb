"""entry numbers of the message log from a sequence on PostgreSQL (the head is no longer held by every filing)

Revision ID: 0015_logvolgnummer
Revises: 0014_profielinhoud_stand
Create Date: 2026-12-02

On PostgreSQL a filing takes its entries' numbers from ``logregel_volgnummer`` and writes the entries at once;
the sequencer (``gateway/log/writer.py``) extends the tree over them later, holding the head once per batch
instead of every filing holding it through its commit. The sequence starts after the highest entry stored.
SQLite admits one writer at a time anyway and keeps numbering under the head.
"""

from alembic import op

revision = "0015_logvolgnummer"
down_revision = "0014_profielinhoud_stand"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE logregel_volgnummer AS bigint MINVALUE 0 START 0")
    op.execute(
        "SELECT setval('logregel_volgnummer', "
        "GREATEST((SELECT max(volgnummer) FROM logregel), (SELECT grootte - 1 FROM loghoofd WHERE id = 1), -1) + 1, "
        "false)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE logregel_volgnummer")
