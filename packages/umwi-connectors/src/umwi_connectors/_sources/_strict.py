"""The base of the built-in sources' options: unknown keys and later changes refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictOptions"]


class StrictOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
