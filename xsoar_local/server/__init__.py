"""A local XSOAR server: the REST API the official clients call, over the local engine and a state folder.

core.py            ServerCore: the thin facade REST and the web page call, over the feature modules below
records.py         typed records: incidents with their investigation, instances, War Room entries
repository.py      StateRepository: the records in memory, one lock, all-or-nothing saves, the size caps
state.py           the state folder: layout (one file per incident), one owner at a time, the API key
content.py         packs feature: upload, listing, what the installed packs hold (integrations, playbooks)
packs.py           uploaded pack zips: unpack, check, install into the state folder
instances.py       instances feature: integration instances and their secrets
investigations.py  investigations feature: incidents, investigations, context, entries
warroom.py         War Room feature: notes, commands and server-native commands through the engine registry
playbooks.py       playbook runs feature: background runs, their state, entries in task order
(warm execution lives in xsoar_local.engine.executors; the server only says whether to use it)
api.py             the Werkzeug app: routing, API-key auth, the server's error bodies
__main__.py        `python -m xsoar_local.server` (`make server`)
"""
