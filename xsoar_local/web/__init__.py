"""The War Room in a browser: the local server's pages (log-in, playground, incidents, work plan, context).

app.py       the WSGI app (Werkzeug): routes, log-in and CSRF checks, fragments for the page script
auth.py      browser sessions: a one-time login code (or the key typed in), then a cookie scoped to a secret root
core.py      WarRoomCore: the calls the pages make on the server core (its REST shapes, nothing new)
views.py     entries, the context tree and the work plan as the pages show them (pure functions)
markdown.py  markdown-it-py (tables) + nh3: entry markdown as safe HTML, raw HTML shown as text
templates/   Jinja2 pages (autoescaped);  static/  the page's CSS and script (no CDN, no build)

bridge.py    the WarRoomCore calls over the local server's ServerCore

from xsoar_local.web import create_app, make_web_app
web = create_app(core, api_key)          # a WSGI app answering `/`, `/ui/...`, `/WorkPlan/...`, over any WarRoomCore
web = make_web_app(server_core, api_key) # the same over xsoar_local.server's ServerCore (what make server mounts)
"""

from xsoar_local.web.app import WebApp, create_app
from xsoar_local.web.bridge import ServerCoreBridge, server_web_app
from xsoar_local.web.core import WarRoomCore

make_web_app = server_web_app

__all__ = ["ServerCoreBridge", "WarRoomCore", "WebApp", "create_app", "make_web_app"]
