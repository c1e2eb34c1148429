"""Register umwi's flow deployments on an ECS work pool (see flows/README.md).

    uv run python flows/deploy.py --env dev --outputs outputs.json --tag "$GITHUB_SHA" \
        [--config umwi.toml] [--no-build] [--create-pool]

`outputs.json` is `pulumi stack output --json --stack <env>` (read through
`umwi_core.deployment.StackOutputs`); its `workPool.type` chooses the pool: `ecs` (hybrid,
a worker service; the default) or `ecs:push` (Prefect Cloud, no worker). By
default the flow image is built from flows/Dockerfile and pushed to the stack's ECR
repository first; `--no-build`
registers the deployments against an image that already exists. `PREFECT_API_URL` (and
`PREFECT_API_KEY` for Prefect Cloud) choose the server.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from umwi_core.errors import UmwiError

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, choices=["dev", "prod"])
    parser.add_argument("--outputs", required=True, type=Path, help="pulumi stack output --json")
    parser.add_argument("--tag", required=True, help="Image tag, unique (the git commit).")
    parser.add_argument("--config", type=Path, default=ROOT / "umwi.toml")
    parser.add_argument("--no-build", action="store_true", help="Use an existing image.")
    parser.add_argument(
        "--create-pool", action="store_true", help="Create/update the work pool and its template."
    )
    args = parser.parse_args(argv)

    from umwi_flows import load_config
    from umwi_flows._deploy import (
        StackOutputs,
        base_job_template,
        deployment_specs,
        flow_image,
        register,
    )

    try:
        outputs = StackOutputs.from_json(args.env, json.loads(args.outputs.read_text()))
        specs = deployment_specs(args.env, outputs, load_config(args.config))
        if args.create_pool:
            _create_pool(outputs.work_pool.name, outputs.work_pool.type, base_job_template())
        ids = register(
            specs,
            work_pool_name=outputs.work_pool.name,
            image=flow_image(outputs, args.tag, ROOT),
            build=not args.no_build,
            push=not args.no_build,
        )
    except (UmwiError, OSError, ValueError) as error:
        sys.stderr.write(f"deploy: {error}\n")
        return 1
    for spec, deployment_id in zip(specs, ids, strict=True):
        sys.stdout.write(f"{spec.flow}/{spec.name}: {deployment_id}\n")
    return 0


def _create_pool(name: str, pool_type: str, template: dict[str, object]) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(
                WorkPoolCreate(name=name, type=pool_type, base_job_template=template)
            )
        except ObjectAlreadyExists:
            client.update_work_pool(name, WorkPoolUpdate(base_job_template=template))


if __name__ == "__main__":
    sys.exit(main())
