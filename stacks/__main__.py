"""Pulumi's entry point (`main: stacks/` in Pulumi.yaml)."""

from pathlib import Path

from umwi_stacks import main

# Pulumi.yaml sits one folder up; config paths (umwi:apiBundle) are relative to it.
main(Path(__file__).resolve().parent.parent)
