"""umwi-core: the plumbing every umwi package shares.

Settings (one switch, `UMWI_ENV`), lake storage, the state ledger, alerts, run manifests,
the published-gold pointer, resource names, the data contracts, and the contracts with the
Pulumi stack (its outputs, `deployment`; the API's CORS policy, `cors`). Each adapter has a
local and an aws implementation; `build_resources(settings)` chooses them once (the only
place that does) and code above them receives the bundle.
"""

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
from umwi_core.redact import redact
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
