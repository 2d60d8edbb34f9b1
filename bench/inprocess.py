"""The YodaSpeak integration loaded in this process, its commands run through its own `main()`.

The local engine's server side (`xsoar_local.engine.sandbox.Engine`) answers demistomock's calls, so the
integration context (the translation cache) lives in the engine's store, as between commands on a server.
demistomock must be patched before CommonServerPython is imported, since its logger reads the params then.
"""

from __future__ import annotations

import importlib
import sys
import types

from xsoar_local.engine import ParamLayer, build_params, is_error, load_integration
from xsoar_local.engine.demisto_api import ServerDemisto
from xsoar_local.engine.jobs import Job
from xsoar_local.runtime import DEFAULT_DESTINATION, REPO_ROOT

YODA_FOLDER = REPO_ROOT / "Packs" / "YodaSpeak" / "Integrations" / "YodaSpeak"
TRANSLATE = "yoda-speak-translate"


class InProcessYodaSpeak:
    """One instance of the integration; `translate()` runs `!yoda-speak-translate` through its main()."""

    def __init__(self, url: str, cache_hours: int) -> None:
        if "YodaSpeak" in sys.modules:
            raise RuntimeError("YodaSpeak is already imported: one in-process instance per benchmark process")
        for folder in (str(YODA_FOLDER), str(DEFAULT_DESTINATION)):
            if folder not in sys.path:
                sys.path.insert(0, folder)
        integration = load_integration(YODA_FOLDER)
        params = build_params(integration.params, [ParamLayer("bench", {"url": url, "cache_hours": str(cache_hours)})])
        self.job = Job(
            kind="integration",
            name=integration.name,
            folder=str(YODA_FOLDER),
            runtime_dir=str(DEFAULT_DESTINATION),
            params=params,
            command=TRANSLATE,
            brand=integration.brand,
            instance=f"{integration.brand}_instance_1",
        )
        # The server's demisto object stands in for the demistomock module, as in the engine's sandbox.
        self.engine = ServerDemisto(self.job)
        sys.modules["demistomock"] = self.engine  # type: ignore[assignment]
        self.demistomock = self.engine
        self.module: types.ModuleType = importlib.import_module("YodaSpeak")

    def set_cache_hours(self, hours: int) -> None:
        """Change the instance's cache lifetime (0 turns the cache off)."""
        # CommonServerPython replaced callingContext["params"] with a copy when it was imported: change that one.
        self.demistomock.callingContext["params"]["cache_hours"] = str(hours)

    def translate(self, text: str) -> str:
        """Run the command on `text`; returns the translation, raises if the command wrote an error entry."""
        self.engine.callingContext["args"].clear()
        self.engine.callingContext["args"]["text"] = text
        self.engine.entries.clear()
        self.engine.logs.clear()
        self.module.main()
        entry = self.engine.entries[-1]
        if is_error(entry):
            raise RuntimeError(f"yoda-speak-translate failed: {entry.get('Contents')}")
        return str(entry["EntryContext"][next(iter(entry["EntryContext"]))]["Translation"])
