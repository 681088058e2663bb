"""vir-gateway: the SOAP face of the Verwijsindex Risicojongeren.

Importing this package makes Spyne importable on every supported Python (see ``_spyne_compat``).
"""

from gateway._spyne_compat import install as _install_spyne_compat
from gateway._spyne_compat import patch_xmldata as _patch_xmldata

_install_spyne_compat()
_patch_xmldata()

__version__ = "0.1.0"
