"""National federation with the other verwijsindex systems.

service.py   receive: the Federatie SOAP service (MeldingDoorgeven, MeldingIntrekken, Ping)
client.py    forward: the zeep client for peers, built from the committed WSDL
worker.py    ``vir-gateway worker``: delivery with retry, backoff and dead letters
cli.py       ``vir-gateway federatie …``: peers, status, dead deliveries, demo
demo.py      four local nodes (mesh or hub), also used by the tests and the benchmark
"""
