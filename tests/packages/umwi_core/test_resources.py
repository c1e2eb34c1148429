"""`umwi_core.resources`: the only place that chooses between local and aws."""

from __future__ import annotations

import ast
from pathlib import Path

from umwi_core import build_resources, load_settings
from umwi_core.alerts import FileAlertSink, SnsAlertSink
from umwi_core.cache import DynamoCache, MemoryCache

ROOT = Path(__file__).resolve().parents[3]
SOURCE_TREES = [
    *sorted((ROOT / "packages").glob("*/src")),
    ROOT / "api" / "src",
    ROOT / "flows" / "src",
    ROOT / "stacks" / "src",
]
#: Where the switch may be read: the module that chooses, and the settings that define and
#: validate it (an s3:// lake needs UMWI_ENV=aws); neither builds anything for the caller.
ALLOWED = {
    ROOT / "packages/umwi-core/src/umwi_core/resources.py",
    ROOT / "packages/umwi-core/src/umwi_core/settings.py",
}


def _is_settings_env(node: ast.AST) -> bool:
    """`settings.env`, `self.settings.env`, `resources.settings.env`, `self._settings.env`…"""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "env"
        and "settings" in ast.unparse(node.value).lower()
    )


def _is_environment_member(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Environment"
    )


def _is_s3_check(node: ast.AST) -> bool:
    """`x.startswith("s3://")`, `"s3://" in x`, `x[:5] == "s3://"` and the like."""

    def s3_literal(value: ast.AST) -> bool:
        return isinstance(value, ast.Constant) and value.value in ("s3://", "s3")

    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("startswith", "endswith")
    ):
        return any(
            s3_literal(arg) or (isinstance(arg, ast.Tuple) and any(s3_literal(e) for e in arg.elts))
            for arg in node.args
        )
    if isinstance(node, ast.Compare):
        return any(s3_literal(part) for part in (node.left, *node.comparators))
    return False


def environment_branches(path: Path) -> list[str]:
    """Every place in `path` that reads the local/aws switch, as `file:line: code`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if _is_settings_env(node) or _is_environment_member(node) or _is_s3_check(node):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return sorted(set(found))


def test_the_environment_is_chosen_only_in_core_resources() -> None:
    """Mutation: `if settings.env is Environment.AWS:` anywhere in the API, the flows, the
    packages or the stacks (as `api/_store.py` had) turns this red."""
    offenders = [
        line
        for tree in SOURCE_TREES
        for path in sorted(tree.rglob("*.py"))
        if path not in ALLOWED
        for line in environment_branches(path)
    ]
    assert offenders == []


def test_the_checker_finds_each_kind_of_branch(tmp_path: Path) -> None:
    """The scan above proves nothing if it cannot see a branch: each form is caught."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "if settings.env == 'aws': pass\n"
        "if self._settings.env is Environment.AWS: pass\n"
        "local = uri.startswith('s3://')\n"
        "remote = uri[:5] == 's3://'\n"
    )
    tree = ast.parse(sample.read_text())
    kinds = [
        node
        for node in ast.walk(tree)
        if _is_settings_env(node) or _is_environment_member(node) or _is_s3_check(node)
    ]
    lines = {node.lineno for node in kinds}
    assert lines == {1, 2, 3, 4}


def test_local_resources(tmp_path: Path) -> None:
    resources = build_resources(load_settings(state_dir=tmp_path))
    assert resources.lake.root == str((tmp_path / "lake").resolve())
    assert resources.lake.local_path("gold/x") == (tmp_path / "lake" / "gold" / "x").resolve()
    assert isinstance(resources.alerts, FileAlertSink)
    assert isinstance(resources.api_cache, MemoryCache)
    assert resources.s3_access is None
    assert resources.local_io
    assert resources.pointer_ttl_s == 0.0


def test_adapters_are_built_on_first_use(tmp_path: Path) -> None:
    """The API never touches the ledger: building the bundle and its lake opens no state
    database. Mutation: building every adapter in `Resources.__init__` turns this red."""
    resources = build_resources(load_settings(state_dir=tmp_path))
    assert resources.lake is resources.lake
    assert not (tmp_path / "state.db").exists()
    resources.ledger.records()
    assert (tmp_path / "state.db").exists()


def test_aws_resources(tmp_path: Path) -> None:
    settings = load_settings(
        env="aws",
        state_dir=tmp_path,
        lake_uri="s3://bucket/lake",
        ledger_table="ledger",
        cache_table="cache",
        alerts_topic_arn="arn:aws:sns:eu-west-1:123456789012:alerts",
        aws_endpoint_url="http://127.0.0.1:1",
        aws_region="eu-west-3",
    )
    resources = build_resources(settings)
    assert resources.lake.uri("gold/x") == "s3://bucket/lake/gold/x"
    assert resources.lake.local_path("gold/x") is None
    assert isinstance(resources.alerts, SnsAlertSink)
    assert isinstance(resources.api_cache, DynamoCache)
    assert resources.s3_access is not None
    assert resources.s3_access.region == "eu-west-3"
    assert resources.s3_access.endpoint_url == "http://127.0.0.1:1"
    assert not resources.local_io
    assert resources.pointer_ttl_s > 0
