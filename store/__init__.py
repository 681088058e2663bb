"""Persistence: SQLAlchemy 2 models, the database engine and its transactions, migrations."""
