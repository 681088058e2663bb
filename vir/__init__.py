"""The product put together: the gateway's services and the federation in one WSGI application
(``vir.app``) and one command, ``vir-gateway`` (``vir.cli``). Nothing below imports this package."""
