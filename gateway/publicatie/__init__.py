"""Management information a municipality can publish (docs/rapportage.md): the figures of
``gateway.domain.cijfers`` as CSV, JSON, charts (SVG and PNG) and the year report (one self-contained
HTML file), and the operator commands that make them.

    tabel.py        CSV and JSON of a publication
    grafiek.py      bar charts as SVG (and as PNG through ``gateway.rapport``)
    jaarrapport.py  the year's overview as one HTML file with its charts inline
    cli.py          ``vir-gateway rapport cijfers`` and ``vir-gateway rapport jaar``: read, publish, log
"""
