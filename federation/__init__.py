"""National federation with the other verwijsindex systems (peer client, outbox worker, peer service).

Not built yet: meldingen stay local. The store already commits every request in one transaction, so the
outbox rows of the federation can join that transaction when they land.
"""
