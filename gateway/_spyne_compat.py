"""Make Spyne 2.14 importable on Python 3.12 and 3.13.

Spyne 2.14 (the newest release) vendors an old copy of ``six`` as ``spyne.util.six``. Its
``six.moves`` importer implements only ``find_module``/``load_module``, which Python 3.12 removed
from the import system, so ``import spyne`` fails with ``No module named 'spyne.util.six.moves'``.

The shim loads Spyne's own ``six.py`` (without importing the ``spyne`` package, which would fail)
and gives its importer the three methods of the modern protocol, exactly as upstream ``six`` 1.16
does. Nothing else of Spyne is touched. On Python 3.13, Spyne also imports the removed ``cgi``
module; the ``legacy-cgi`` dependency provides it.

``install()`` must run before the first ``import spyne``; ``gateway/__init__.py`` calls it.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

_VENDORED = "spyne.util.six"


def install() -> None:
    """Install the shim once; a no-op before Python 3.12 or when already installed."""
    if sys.version_info < (3, 12) or _VENDORED in sys.modules:
        return
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
        return self.load_module(spec.name)  # type: ignore[no-any-return]

    def exec_module(self: Any, module: ModuleType) -> None:
        return None

    importer_cls.find_spec = find_spec
    importer_cls.create_module = create_module
    importer_cls.exec_module = exec_module
