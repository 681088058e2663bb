"""vir-gateway: the SOAP face of the Verwijsindex Risicojongeren.

Importing this package makes Spyne importable on every supported Python (see ``_spyne_compat``).
"""

from gateway._spyne_compat import install as _install_spyne_compat

_install_spyne_compat()

__version__ = "0.1.0"
