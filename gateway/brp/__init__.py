"""The population register (BRP) as the index receives it: a file format, its reader and writer, and
a generator of synthetic registers. See ``docs/brp.md``."""

from gateway.brp.bestand import Adres, Bevolking, BrpBestandFout, Persoon, lees, schema, schrijf
from gateway.brp.genereer import genereer, verhuis

__all__ = ["Adres", "Bevolking", "BrpBestandFout", "Persoon", "genereer", "lees", "schema", "schrijf", "verhuis"]
