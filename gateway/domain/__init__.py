"""The verwijsindex itself, in plain Python: rules, youth keys, matching. Knows nothing of SOAP or SQL."""
