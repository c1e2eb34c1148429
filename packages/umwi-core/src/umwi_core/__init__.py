"""umwi-core: the plumbing every umwi package shares.

Settings (one switch, `UMWI_ENV`), lake storage, the state ledger, alerts, run manifests,
the published-gold pointer, resource names, the data contracts, and the contracts with the
Pulumi stack (its outputs, `deployment`; the API's CORS policy, `cors`). Each adapter has a
local and an aws implementation; `build_resources(settings)` chooses them once (the only
place that does) and code above them receives the bundle.

Names are imported on first use (PEP 562): `import umwi_core.resources` must not pull in
every module here, since the API's Lambda handler imports a few of them at cold start and
the rest (alerts, runs, the stack contract) are pydantic models it never needs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Eager: a lazy `redact` would be shadowed by its own module once `umwi_core.redact` is
# imported (the import system binds the submodule on the package under the same name).
from umwi_core.redact import redact

if TYPE_CHECKING:
    from umwi_core.alerts import Alert, AlertSink, FileAlertSink, SnsAlertSink
    from umwi_core.cache import ResultCache
    from umwi_core.cors import CorsPolicy, cors_policy
    from umwi_core.deployment import StackOutputs
    from umwi_core.errors import (
        ConflictError,
        InputError,
        LakeError,
        LedgerError,
        SettingsError,
        SourceError,
        UmwiError,
    )
    from umwi_core.lake import Lake
    from umwi_core.ledger import Ledger, WindowRecord, WindowStatus
    from umwi_core.logs import configure_logging
    from umwi_core.naming import ResourceNames, resource_names
    from umwi_core.publication import (
        Publication,
        PublishedTable,
        read_publication,
        serving_key,
        write_publication,
    )
    from umwi_core.resources import (
        Resources,
        S3Access,
        build_resources,
        make_alerts,
        make_cache,
        make_lake,
        make_ledger,
    )
    from umwi_core.runs import (
        RunManifest,
        RunStatus,
        TableCounts,
        new_run_id,
        read_manifest,
        recorded_run,
        write_manifest,
    )
    from umwi_core.settings import Environment, Settings, load_settings

#: Each public name → the module that defines it.
_HOMES: dict[str, str] = {
    "Alert": "umwi_core.alerts",
    "AlertSink": "umwi_core.alerts",
    "ConflictError": "umwi_core.errors",
    "CorsPolicy": "umwi_core.cors",
    "Environment": "umwi_core.settings",
    "FileAlertSink": "umwi_core.alerts",
    "InputError": "umwi_core.errors",
    "Lake": "umwi_core.lake",
    "LakeError": "umwi_core.errors",
    "Ledger": "umwi_core.ledger",
    "LedgerError": "umwi_core.errors",
    "Publication": "umwi_core.publication",
    "PublishedTable": "umwi_core.publication",
    "ResourceNames": "umwi_core.naming",
    "Resources": "umwi_core.resources",
    "ResultCache": "umwi_core.cache",
    "RunManifest": "umwi_core.runs",
    "RunStatus": "umwi_core.runs",
    "S3Access": "umwi_core.resources",
    "Settings": "umwi_core.settings",
    "SettingsError": "umwi_core.errors",
    "SnsAlertSink": "umwi_core.alerts",
    "SourceError": "umwi_core.errors",
    "StackOutputs": "umwi_core.deployment",
    "TableCounts": "umwi_core.runs",
    "UmwiError": "umwi_core.errors",
    "WindowRecord": "umwi_core.ledger",
    "WindowStatus": "umwi_core.ledger",
    "build_resources": "umwi_core.resources",
    "configure_logging": "umwi_core.logs",
    "cors_policy": "umwi_core.cors",
    "load_settings": "umwi_core.settings",
    "make_alerts": "umwi_core.resources",
    "make_cache": "umwi_core.resources",
    "make_lake": "umwi_core.resources",
    "make_ledger": "umwi_core.resources",
    "new_run_id": "umwi_core.runs",
    "read_manifest": "umwi_core.runs",
    "read_publication": "umwi_core.publication",
    "recorded_run": "umwi_core.runs",
    "resource_names": "umwi_core.naming",
    "serving_key": "umwi_core.publication",
    "write_manifest": "umwi_core.runs",
    "write_publication": "umwi_core.publication",
}

__all__ = [
    "Alert",
    "AlertSink",
    "ConflictError",
    "CorsPolicy",
    "Environment",
    "FileAlertSink",
    "InputError",
    "Lake",
    "LakeError",
    "Ledger",
    "LedgerError",
    "Publication",
    "PublishedTable",
    "ResourceNames",
    "Resources",
    "ResultCache",
    "RunManifest",
    "RunStatus",
    "S3Access",
    "Settings",
    "SettingsError",
    "SnsAlertSink",
    "SourceError",
    "StackOutputs",
    "TableCounts",
    "UmwiError",
    "WindowRecord",
    "WindowStatus",
    "build_resources",
    "configure_logging",
    "cors_policy",
    "load_settings",
    "make_alerts",
    "make_cache",
    "make_lake",
    "make_ledger",
    "new_run_id",
    "read_manifest",
    "read_publication",
    "recorded_run",
    "redact",
    "resource_names",
    "serving_key",
    "write_manifest",
    "write_publication",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'umwi_core' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
