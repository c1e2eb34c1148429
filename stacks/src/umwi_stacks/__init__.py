"""umwi_stacks: the Pulumi program for every AWS environment of umwi.

`stacks/__main__.py` calls `main(project_root)`; `build_stack` returns the outputs without
exporting them (for tests and for composing into another program).
"""

from umwi_stacks._alerts import Alerts
from umwi_stacks._api import Api
from umwi_stacks._bucket import SecureBucket
from umwi_stacks._config import StackConfig, StackConfigError, load_config
from umwi_stacks._dashboard import Dashboard
from umwi_stacks._deployer import GithubDeployer
from umwi_stacks._github import github_trust
from umwi_stacks._lake import DataLake
from umwi_stacks._network import Network
from umwi_stacks._orchestration import Orchestration
from umwi_stacks._program import build_stack, main
from umwi_stacks._secrets import Secrets
from umwi_stacks._spark import SparkJobs
from umwi_stacks._state import StateTables

__all__ = [
    "Alerts",
    "Api",
    "Dashboard",
    "DataLake",
    "GithubDeployer",
    "Network",
    "Orchestration",
    "Secrets",
    "SecureBucket",
    "SparkJobs",
    "StackConfig",
    "StackConfigError",
    "StateTables",
    "build_stack",
    "github_trust",
    "load_config",
    "main",
]
