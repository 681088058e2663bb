"""The declarative base every table of the store derives from (``store/models.py`` and the modules it gathers)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
