"""The local incident: its context (merged like the XSOAR server does) and its persisted state."""

from xsoar_local.incident.context import (
    delete_path,
    get_path,
    json_equal,
    merge_entry_context,
    set_path,
)
from xsoar_local.incident.errors import ContextPathError
from xsoar_local.incident.model import (
    DEFAULT_STATE_DIR,
    Incident,
    IncidentInputError,
    default_fields,
    incident_from_overrides,
    load_incident_file,
    parse_incident_fields,
    view_for_expressions,
)
from xsoar_local.incident.selector import UnsupportedSelectorError, evaluate_selector, split_dt_key
from xsoar_local.incident.state import (
    MAX_STATE_BYTES,
    STATE_FILE_NAME,
    StaleVersionError,
    State,
    StateError,
    StateStore,
)

__all__ = [
    "DEFAULT_STATE_DIR",
    "MAX_STATE_BYTES",
    "STATE_FILE_NAME",
    "ContextPathError",
    "Incident",
    "IncidentInputError",
    "StaleVersionError",
    "State",
    "StateError",
    "StateStore",
    "UnsupportedSelectorError",
    "default_fields",
    "delete_path",
    "evaluate_selector",
    "get_path",
    "incident_from_overrides",
    "json_equal",
    "load_incident_file",
    "merge_entry_context",
    "parse_incident_fields",
    "set_path",
    "split_dt_key",
    "view_for_expressions",
]
