"""A local XSOAR server: the REST API the official clients call, over the local engine and a state folder.

core.py     ServerCore: packs, instances, incidents, War Room, playbook runs (what REST and the web UI call)
state.py    the server's state folder: one owner at a time, atomic JSON writes, the API key
packs.py    uploaded pack zips: unpack, check, install into the state folder
content.py  what the installed packs hold: integrations (module configurations), playbooks
(warm execution lives in xsoar_local.engine.executors)
api.py      the Werkzeug app: routing, API-key auth, the server's error bodies
__main__.py `python -m xsoar_local.server` (`make server`)
"""
