"""``/health`` and ``/ready`` for load balancers and orchestrators.

``/health`` says the process is alive and answers HTTP: 200 ``ok``, nothing else is checked, so a
slow database never gets a healthy worker restarted.

``/ready`` says whether this process can do its work now: 200 when the database answers, its schema is
the newest migration this code knows, and the checkpoint-signing key is loaded; 503 otherwise. The
body is one JSON object with a verdict per check (``ok`` or what is wrong), and never library text.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.errors import GatewayError
from store.db import DatabaseUnavailable
from store.stand import nieuwste_revisie, schema_revisie


def gereed(deps: Any) -> tuple[bool, bytes]:
    """(ready, JSON body)."""
    controles: dict[str, str] = {}
    try:
        with deps.db.transaction(write=False) as session:
            revisie = schema_revisie(session)
        controles["database"] = "ok"
        nieuwste = nieuwste_revisie()
        if revisie == nieuwste:
            controles["schema"] = "ok"
        else:
            controles["schema"] = f"revision {revisie or 'none'}, expected {nieuwste} (vir-gateway db upgrade)"
    except (GatewayError, DatabaseUnavailable):
        controles["database"] = "unreachable"
        controles["schema"] = "unknown"
    signer = getattr(deps.logboek, "signer", None)
    controles["signing_key"] = "ok" if getattr(signer, "key", None) is not None else "not loaded"
    klaar = all(v == "ok" for v in controles.values())
    body = json.dumps({"ready": klaar, **controles}, sort_keys=True).encode() + b"\n"
    return klaar, body
