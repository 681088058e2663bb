"""registerstand also counts changes to the profile content (a process keeps what a filing needs of it)

Revision ID: 0014_profielinhoud_stand
Revises: 0013_registerstand
Create Date: 2026-12-02

Every insert, update and delete of a ``profielinhoud`` row raises ``registerstand.versie``, like the changes
to an instantie's profile (0013): a process keeps each instantie's designation setting and municipality
(``store/register.py``) while the counter stays the same.
"""

from alembic import op

revision = "0014_profielinhoud_stand"
down_revision = "0013_registerstand"
branch_labels = None
depends_on = None

_VERHOOG = "UPDATE registerstand SET versie = versie + 1 WHERE id = 1"
_WANNEER = (("in", "INSERT"), ("bij", "UPDATE"), ("uit", "DELETE"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER registerstand_profielinhoud AFTER INSERT OR UPDATE OR DELETE ON profielinhoud "
            "FOR EACH STATEMENT EXECUTE FUNCTION registerstand_verhogen()"
        )
        return
    for naam, wanneer in _WANNEER:
        op.execute(
            f"CREATE TRIGGER registerstand_profielinhoud_{naam} AFTER {wanneer} ON profielinhoud BEGIN {_VERHOOG}; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER registerstand_profielinhoud ON profielinhoud")
        return
    for naam, _ in _WANNEER:
        op.execute(f"DROP TRIGGER registerstand_profielinhoud_{naam}")
