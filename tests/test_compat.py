"""The Spyne compatibility shim (gateway/_spyne_compat.py), on whichever Python runs the suite."""

from __future__ import annotations

import subprocess
import sys

from lxml import etree


def test_spyne_imports_cleanly_in_a_fresh_interpreter() -> None:
    code = (
        "import gateway, spyne\n"
        "from spyne.util.six.moves.collections_abc import MutableSet\n"
        "from spyne.protocol.soap import Soap11, Soap12\n"
        "from spyne.server.wsgi import WsgiApplication\n"
        "print(spyne.__version__)\n"
    )
    r = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("2.14")


def test_xmldata_writes_non_ascii_text() -> None:
    from spyne.util.xml import get_object_as_xml

    from gateway import berichten as M

    b = M.Bevinding(code="VIR-X", melding=[M.Foutmelding(taal="nl", tekst="één fout")], xpath="/a")
    el = get_object_as_xml(b, M.Bevinding)
    melding = el.find("{urn:nl:vir:gateway:gegevens:v1}melding")
    assert melding is not None
    assert (melding.get("taal"), melding.text) == ("nl", "één fout")
    assert etree.tostring(el, encoding="unicode").count("één fout") == 1
