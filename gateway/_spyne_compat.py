"""Make Spyne 2.14 importable on Python 3.12 and 3.13.

Spyne 2.14 (the newest release) vendors an old copy of ``six`` as ``spyne.util.six``. Its
``six.moves`` importer implements only ``find_module``/``load_module``, which Python 3.12 removed
from the import system, so ``import spyne`` fails with ``No module named 'spyne.util.six.moves'``.

The shim loads Spyne's own ``six.py`` (without importing the ``spyne`` package, which would fail)
and gives its importer the three methods of the modern protocol, exactly as upstream ``six`` 1.16
does. Nothing else of Spyne is touched. On Python 3.13, Spyne also imports the removed ``cgi``
module; the ``legacy-cgi`` dependency provides it.

``install()`` must run before the first ``import spyne``; ``gateway/__init__.py`` calls it.

``patch_xmldata()`` fixes one Spyne bug on every Python: ``XmlData`` (simple content with attributes,
our ``g:melding taal="nl"``) sets the element text to UTF-8 *bytes*, which lxml refuses for any
non-ASCII text ("één"). It now sets the text as a string.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import warnings
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

_VENDORED = "spyne.util.six"


def _preimport_cgi() -> None:
    """Spyne imports ``cgi``, deprecated since 3.11 (removed in 3.13, where ``legacy-cgi`` provides
    it). Import it once with that one warning silenced, so that Spyne's import is warning-free."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'cgi' is deprecated", category=DeprecationWarning)
        with contextlib.suppress(ImportError):
            import cgi  # noqa: F401


def install() -> None:
    """Install the shim once. On 3.11 it is not needed to import, but it also silences the
    ``ImportWarning`` that the legacy importer raises there (warnings are errors in our tests)."""
    if _VENDORED in sys.modules:
        return
    _preimport_cgi()
    spyne_spec = importlib.util.find_spec("spyne")
    if spyne_spec is None or not spyne_spec.submodule_search_locations:
        return  # Spyne is not installed; the import error will come from the real import.
    six_path = Path(next(iter(spyne_spec.submodule_search_locations))) / "util" / "six.py"
    spec = importlib.util.spec_from_file_location(_VENDORED, six_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_VENDORED] = module
    spec.loader.exec_module(module)

    importer_cls: Any = module._SixMetaPathImporter

    def find_spec(self: Any, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if fullname in self.known_modules:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self: Any, spec: ModuleSpec) -> ModuleType:
        return self.load_module(spec.name)

    def exec_module(self: Any, module: ModuleType) -> None:
        return None

    importer_cls.find_spec = find_spec
    importer_cls.create_module = create_module
    importer_cls.exec_module = exec_module


def patch_xmldata() -> None:
    """Make ``spyne.model.complex.XmlData`` write text as ``str`` (see the module docstring)."""
    from spyne.model.complex import XmlData
    from spyne.model.primitive import AnyXml

    def marshall(cls: Any, prot: Any, name: str, value: Any, parent_elt: Any) -> None:
        if value is None:
            return
        if issubclass(cls.type, AnyXml):
            parent_elt.append(value)
            return
        text = prot.to_unicode(cls.type, value)
        if len(parent_elt) == 0:
            parent_elt.text = text
        else:
            parent_elt[-1].tail = text

    XmlData.marshall = classmethod(marshall)
