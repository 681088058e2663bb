"""The operator console: ``/beheer/`` in the gateway's own process, on the same store.

app.py       the WSGI application: operator, right, form token, page, log entry, response
toegang.py   operators from client certificates of the operator CA; roles and their rights
paginas.py   the pages and actions, and the route table
grafiek.py   small inline SVG charts
cli.py       ``vir-gateway beheerder add|list|intrekken``
templates/   Jinja2, Dutch, server-rendered
static/      the style sheet and the one script (the in-browser proof check)

Its queries are in ``store/console.py`` (``store/`` owns every table).
"""

from gateway.console.app import PREFIX, Console
from gateway.console.paginas import ROUTES

__all__ = ["PREFIX", "ROUTES", "Console"]
