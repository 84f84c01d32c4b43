"""``adcli serve``: a local web page that shows backpropagation happening.

:mod:`.endpoints` is the JSON API (a request's data in, the answer's data out, every number
computed by the library the command line uses); :mod:`.page` lays the graph out for the
page; :mod:`.server` is the HTTP server (the standard library's), which checks where each
request comes from, bounds what it may cost, and serves only the page's own files from
``static/``.
"""
