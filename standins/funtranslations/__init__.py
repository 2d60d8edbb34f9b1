"""A FunTranslations-compatible Yoda service for offline use and tests (loopback only).

`translator` is the rule-based English -> Yoda core, `ratelimit` the per-client limiter and
its wait sentence, `faults` the fault-injection specs, `app` the WSGI application and
`server` runs it in a background thread (optionally over TLS), `__main__` on its own (`make serve`), and
`plugin` tells xsoar-local which integration it serves and how to start it (the core knows no service).
"""
