"""Service stand-ins: local imitations of the external services content packs call, one package each.

Each is an ordinary program (`python -m standins.<name>`) and a plugin of the xsoar-local core: its
`plugin.PLUGIN` (an `xsoar_local.services.ServicePlugin`) is registered in pyproject.toml under the
`xsoar_local.services` entry-point group, and the core starts it for the integrations it serves.
"""
