"""The instances feature: integration instances (create, update, delete, test) and their secrets.

Secrets are kept in the clear in the state folder and masked in every answer; a saved-back mask keeps the saved
value. Integration contexts and lastRun belong to instances: they are kept in the engine's state store
(`instances/` of the state folder: locked, atomic writes), one command per instance at a time.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Final

from xsoar_local.engine import ParamError, ParamLayer, build_params
from xsoar_local.engine.instances import Instance
from xsoar_local.engine.params import MissingParamError
from xsoar_local.engine.session import EngineSession
from xsoar_local.incident.model import Incident
from xsoar_local.incident.state import StateStore
from xsoar_local.redact import CREDENTIALS_TYPE, ENCRYPTED_TYPES, Redactor, url_passwords
from xsoar_local.server.content import InstalledIntegration, Packs
from xsoar_local.server.errors import ServerError, bad_request, not_found
from xsoar_local.server.records import InstanceRecord, now, truthy
from xsoar_local.server.repository import StateRepository

INSTANCE_STATE_DIR: Final = "instances"
SECRET_MASK: Final = "<*** kept on the server ***>"
SECRET_TYPES: Final = ENCRYPTED_TYPES | {CREDENTIALS_TYPE}
_SECRET_FIELDS: Final = ("password", "sshkey", "certificate")  # the parts of a credentials value that are secret


class Instances:
    """Instance settings over the state repository; `store` keeps their integration contexts and lastRun."""

    def __init__(self, state: StateRepository, packs: Packs) -> None:
        self.state = state
        self.packs = packs
        self._store: StateStore | None = None

    def open(self) -> None:
        self._store = StateStore(self.state.folder / INSTANCE_STATE_DIR)

    @property
    def store(self) -> StateStore:
        if self._store is None:
            raise RuntimeError("the server core is not open")
        return self._store

    def search(self) -> dict[str, Any]:
        """`POST /settings/integration/search`: module configurations and instances (secrets masked)."""
        with self.state.lock:
            instances = [self.shown(item) for item in self.state.settings.instances.values()]
        return {
            "configurations": [item.module_configuration() for item in self.packs.content.integrations],
            "instances": instances,
            "engines": {"total": 0, "engines": []},
            "health": {},
        }

    def integration_for(self, brand: str) -> InstalledIntegration:
        found = self.packs.content.integration(brand)
        if found is None:
            known = ", ".join(sorted(item.integration.name for item in self.packs.content.integrations)) or "none"
            raise bad_request(
                f"no installed integration has the brand {brand!r} (installed: {known}); upload its pack first",
                "errIntegrationNotFound",
            )
        return found

    def save(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """`PUT /settings/integration`: create an instance, or update the one with the body's `id`."""
        brand = str(body.get("brand") or "").strip()
        name = str(body.get("name") or "").strip()
        if not brand or not name:
            raise bad_request("an instance needs `brand` (the integration) and `name`", "errBadInstance")
        installed = self.integration_for(brand)
        with self.state.transaction() as changes:
            saved = changes.settings.instances
            existing = saved.get(str(body.get("id") or ""))
            clash = changes.settings.instance_named(name)
            if clash is not None and (existing is None or clash.id != existing.id):
                raise bad_request(
                    f"an instance named {name!r} already exists; pick another name or update it by its id",
                    "errInstanceExists",
                )
            data = merge_secrets(
                list(body.get("data") or []), existing.to_json() if existing else None, param_types(installed)
            )
            self.params_of(installed, data)  # refuse unusable params now, not at the first command
            instance = InstanceRecord(
                id=existing.id if existing else str(uuid.uuid4()),
                name=name,
                brand=installed.integration.name,
                data=data,
                category=str(body.get("category") or installed.yaml.get("category") or ""),
                enabled=truthy(body.get("enabled", "true")),
                log_level=str(body.get("integrationLogLevel") or ""),
                engine=str(body.get("engine") or ""),
                version=existing.version + 1 if existing else 1,
                modified=now(),
                docker_image=installed.docker_image,
            )
            saved[instance.id] = instance
        return self.shown(instance)

    def delete(self, instance_id: str) -> None:
        """`DELETE /settings/integration/{id}`; its integration context and lastRun go with it."""
        with self.state.transaction() as changes:
            instance = changes.settings.instances.pop(instance_id, None)
            if instance is None:
                raise not_found(f"no integration instance with id {instance_id!r}", "errInstanceNotFound")
        with self.store.update() as state:
            state.instances.pop(instance.name, None)

    def test(self, body: Mapping[str, Any], session: Callable[[], EngineSession]) -> dict[str, Any]:
        """`POST /settings/integration/test`: runs test-module with the body's settings; `{success, message}`."""
        with self.state.lock:
            found = self.state.settings.instances.get(str(body.get("id") or "")) or self.state.settings.instance_named(
                str(body.get("name"))
            )
            saved = found.to_json() if found else None
        brand = str(body.get("brand") or (saved or {}).get("brand") or "")
        installed = self.integration_for(brand)
        data = merge_secrets(list(body.get("data") or (saved or {}).get("data") or []), saved, param_types(installed))
        name = str(body.get("name") or (saved or {}).get("name") or f"{brand}_instance_1")
        try:
            instance = Instance(name, installed.integration, self.params_of(installed, data))
        except ServerError as error:
            return {"success": False, "message": error.detail}
        run = session().run_command(instance, "test-module", {}, Incident(fields={"id": ""}))
        if run.is_error:
            return {"success": False, "message": "\n".join(run.error_messages)}
        return {"success": True, "message": ""}

    def shown(self, instance: InstanceRecord) -> dict[str, Any]:
        """An instance as every answer of the API shows it: its secrets masked."""
        return masked(instance.to_json(), param_types(self.packs.content.integration(instance.brand)))

    def params_of(self, installed: InstalledIntegration, data: list[Any]) -> dict[str, Any]:
        known = {spec.name for spec in installed.integration.params}
        values = {
            str(item["name"]): item["value"]
            for item in data
            if isinstance(item, Mapping) and item.get("name") in known and "value" in item
        }
        try:
            return build_params(installed.integration.params, [ParamLayer("the instance settings", values)])
        except MissingParamError as error:
            raise bad_request(error.problem, "errBadInstance") from error
        except ParamError as error:
            raise bad_request(str(error), "errBadInstance") from error

    def brand_of(self, instance_name: str) -> str:
        """The brand an entry of the instance shows ("Scripts" for a script's)."""
        if not instance_name:
            return "Scripts"
        found = self.state.settings.instance_named(instance_name)
        return found.brand if found else ""

    def integration_context(self, instance_name: str) -> dict[str, Any]:
        """An instance's integration context (what `demisto.getIntegrationContext()` returns to it)."""
        return self.store.read().integration_context(instance_name)[0]

    def last_run(self, instance_name: str) -> dict[str, Any]:
        return self.store.read().last_run(instance_name)


def param_types(installed: InstalledIntegration | None) -> dict[str, int]:
    """The YAML's type of each param: what says a value is secret, whatever type a request body claims."""
    return {spec.name: spec.type for spec in installed.integration.params} if installed else {}


def _is_secret(item: Mapping[str, Any], types: Mapping[str, int]) -> bool:
    """A secret param by the YAML's type; by the item's own type only for a param the YAML does not have."""
    kind = types.get(str(item.get("name")), item.get("type", 0))
    try:
        return int(kind) in SECRET_TYPES
    except (TypeError, ValueError):
        return False


def masked(instance: Mapping[str, Any], types: Mapping[str, int]) -> dict[str, Any]:
    """The instance as the API shows it: secret params replaced by a mask that means "keep the saved value", and
    every other trace of them (and every password written into a URL) redacted."""
    shown = copy.deepcopy(dict(instance))
    secrets: list[str] = []
    for item in shown.get("data") or ():
        if not isinstance(item, dict):
            continue
        value = item.get("value")
        if _is_secret(item, types) and value not in (None, "", {}):
            if isinstance(value, dict):
                hidden = {key: SECRET_MASK for key in _SECRET_FIELDS if value.get(key)}
                secrets += [str(value[key]) for key in hidden]
                item["value"] = {**value, **hidden}
            else:
                secrets.append(value if isinstance(value, str) else json.dumps(value))
                item["value"] = SECRET_MASK
        elif isinstance(value, str):
            secrets += url_passwords(value)
    redactor = Redactor(secrets)
    for item in shown.get("data") or ():
        if isinstance(item, dict) and "value" in item and item["value"] != SECRET_MASK:
            item["value"] = redactor.value(item["value"])
    shown["configvalues"] = {
        item["name"]: item.get("value") for item in shown.get("data") or () if isinstance(item, dict) and "name" in item
    }
    return shown


def merge_secrets(data: list[Any], saved: Mapping[str, Any] | None, types: Mapping[str, int]) -> list[Any]:
    """Replace what the API showed of the saved settings (masks, masked URLs) with the saved values."""
    saved_values = {
        item.get("name"): item.get("value") for item in (saved or {}).get("data") or () if isinstance(item, Mapping)
    }
    shown_values = {
        item.get("name"): item.get("value")
        for item in masked(saved or {}, types).get("data") or ()
        if isinstance(item, Mapping)
    }
    merged = []
    for item in data:
        if not isinstance(item, Mapping):
            continue
        item = copy.deepcopy(dict(item))
        value = item.get("value")
        name = item.get("name")
        old = saved_values.get(name)
        if value == SECRET_MASK or (name in shown_values and value == shown_values[name] != old):
            item["value"] = old
        elif isinstance(value, dict) and SECRET_MASK in value.values():
            kept = old if isinstance(old, dict) else {}
            item["value"] = {key: kept.get(key, "") if part == SECRET_MASK else part for key, part in value.items()}
        merged.append(item)
    return merged
