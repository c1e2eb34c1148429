"""The stack ↔ flows contract (umwi_core.deployment): one list of secrets, one model."""

from __future__ import annotations

from umwi_core.deployment import SECRETS, JobVariables, StackOutputs
from umwi_core.naming import resource_names


def test_every_secret_has_a_name_a_variable_and_a_job_variable() -> None:
    names = resource_names("prod", "123456789012")
    assert [secret.name(names) for secret in SECRETS] == [
        "umwi-prod/navitia-token",
        "umwi-prod/openmeteo-api-key",
        "umwi-prod/prefect-api-key",
    ]
    assert len({secret.key for secret in SECRETS}) == len(SECRETS)
    assert len({secret.variable for secret in SECRETS}) == len(SECRETS)
    # Each secret's ARN is a required field of the job variables the stack writes.
    fields = JobVariables.model_fields
    for secret in SECRETS:
        assert fields[secret.job_variable].is_required(), secret.job_variable


def test_outputs_ignore_what_the_flows_do_not_read() -> None:
    """Outputs for people (apiUrl...) pass; the work pool's fields are checked strictly."""
    fields = StackOutputs.model_fields
    assert {field.alias or name for name, field in fields.items()} == {
        "environment",
        "region",
        "workPool",
        "secretArns",
        "settings",
    }
    assert StackOutputs.model_config.get("extra") == "ignore"
    assert JobVariables.model_config.get("extra") == "forbid"
