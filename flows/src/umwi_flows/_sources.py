"""The jobs of a run: one per configured instance of a registered source.

The sources themselves (options, fetch, replay) are declared in `umwi_connectors`; this
module only picks the configured ones a run asked for.
"""

from __future__ import annotations

from collections.abc import Iterable

from umwi_connectors import SourceJob, SourcesConfig
from umwi_core.errors import InputError


def jobs_from_config(sources: SourcesConfig, only: Iterable[str] | None = None) -> list[SourceJob]:
    """The jobs of the configured sources, in registry order (weather first, so gold finds
    its weather); `only` keeps those sources, each of which must be configured."""
    configured = sources.names()
    wanted = set(configured if only is None else only)
    unknown = wanted - set(configured)
    if unknown:
        raise InputError(
            f"--source {sorted(unknown)[0]!r} is not configured in umwi.toml "
            f"(configured: {', '.join(configured) or 'none'})"
        )
    return [job for job in sources.jobs() if job.spec.name in wanted]


__all__ = ["jobs_from_config"]
