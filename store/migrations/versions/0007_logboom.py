"""message log: the tree's interior nodes, for proofs in O(log n)

Revision ID: 0007_logboom
Revises: 0006_systeeminzage
Create Date: 2026-12-01
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0007_logboom"
down_revision = "0006_systeeminzage"
branch_labels = None
depends_on = None


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def upgrade() -> None:
    knoop = op.create_table(
        "logknoop",
        # sleutel = positie * 64 + niveau (store/logboom.py)
        sa.Column("sleutel", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    # An existing log gets its nodes from its stored leaf hashes (the same merge as Frontier.append).
    conn = op.get_bind()
    stack: list[bytes] = []
    size = 0
    batch: list[dict[str, object]] = []
    query = sa.text("SELECT leaf FROM logregel WHERE volgnummer >= :lo ORDER BY volgnummer LIMIT 100000")
    while True:
        leaves = conn.execute(query, {"lo": size}).scalars().all()
        for leaf in leaves:
            node, s, level = bytes(leaf), size, 0
            while s & 1:
                node = _node(stack.pop(), node)
                s >>= 1
                level += 1
                batch.append({"sleutel": ((size >> level) << 6) | level, "hash": node})
            stack.append(node)
            size += 1
        if batch:
            op.bulk_insert(knoop, batch)
            batch = []
        if len(leaves) < 100000:
            break


def downgrade() -> None:
    op.drop_table("logknoop")
