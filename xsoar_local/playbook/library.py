"""The content a playbook run looks things up in: the content root's playbooks (sub-playbooks) and whether a task's
script or command is installed (`skipunavailable`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from xsoar_local.engine.catalog import CatalogError, ContentCatalog
from xsoar_local.engine.instances import InstanceError, InstanceSet
from xsoar_local.engine.native import BUILTIN_BRAND, NATIVE_COMMANDS
from xsoar_local.playbook.model import Playbook, PlaybookError, load_playbook
from xsoar_local.playbook.records import split_command


@dataclass
class CatalogContent:
    """`PlaybookContent` over a content catalog and its instances (playbooks are parsed once, when first run)."""

    catalog: ContentCatalog
    instances: InstanceSet | None = None
    _parsed: dict[str, Playbook] = field(default_factory=dict)

    def playbook(self, reference: str) -> Playbook | None:
        """The playbook whose id (else name) is `reference`; a broken one is a PlaybookError naming its file."""
        try:
            found = self.catalog.playbook(reference)
        except CatalogError as error:
            raise PlaybookError(str(error)) from error
        if found is None:
            return None
        key = str(found.path)
        if key not in self._parsed:
            self._parsed[key] = load_playbook(found.path)
        return self._parsed[key]

    def available(self, script: str, brand: str) -> bool:
        """True when the script is installed, or the command has an instance to run on."""
        command = split_command(script)
        if command is None:
            return script in NATIVE_COMMANDS or self.catalog.has_script(script)
        if command[0] == BUILTIN_BRAND:
            return command[1] in NATIVE_COMMANDS
        if self.instances is None:
            return bool(self.catalog.with_command(command[1]))
        try:
            self.instances.for_command(command[1], command[0] or brand, "")
        except InstanceError:
            return False
        return True

    def array_arguments(self, command: str, brand: str) -> Mapping[str, bool] | None:
        """The command's arguments (of the instance that would run it) and whether each is `isArray`."""
        try:
            if self.instances is not None:
                integration = self.instances.for_command(command, brand, "").integration
            else:
                found = [item for item in self.catalog.with_command(command) if not brand or brand == item.brand]
                if len(found) != 1:
                    return None
                integration = found[0]
        except InstanceError:
            return None
        spec = integration.command(command)
        return None if spec is None else {arg.name: arg.is_array for arg in spec.arguments}
