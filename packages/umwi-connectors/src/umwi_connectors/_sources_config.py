"""`SourcesConfig`: the `[sources]` table of umwi.toml, validated against the registry.

Each registered source owns one key: `[sources.<name>]` for a `Layout.ONE` source,
`[[sources.<name>]]` (or a list under its `list_key`) for a `Layout.MANY` one. Errors
name the key path (`sources.weather.locations.0.latitude`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from types import GenericAlias
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    JsonValue,
    create_model,
    model_validator,
)
from pydantic_core import core_schema

from umwi_connectors._registry import registered_sources
from umwi_connectors._source import Layout, Source, SourceJob

__all__ = ["SourcesConfig"]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SourcesTable(_Table):
    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: object) -> object:
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in cls.model_fields)
            if unknown:
                known = ", ".join(cls.model_fields)
                raise ValueError(f"unknown source {unknown[0]!r} (known: {known})")
        return data


def _checked(source: Source[Any]) -> Callable[[list[BaseModel]], list[BaseModel]]:
    def check(instances: list[BaseModel]) -> list[BaseModel]:
        source.check(instances)
        return instances

    return check


def _field(source: Source[Any]) -> tuple[Any, Any]:
    """The annotation and default of the source's key in the `[sources]` model."""
    if source.layout is Layout.ONE:
        return source.options | None, None
    listed: object = Annotated[
        GenericAlias(list, (source.options,)), AfterValidator(_checked(source))
    ]
    if source.list_key is None:
        return listed, Field(default_factory=list)
    fields: dict[str, Any] = {source.list_key: (listed, Field(default_factory=list))}
    table: type[BaseModel] = create_model(
        f"{type(source).__name__}Table", __base__=_Table, **fields
    )
    return table | None, None


@lru_cache(maxsize=4)
def _table_model(sources: tuple[Source[Any], ...]) -> type[BaseModel]:
    fields: dict[str, Any] = {source.name: _field(source) for source in sources}
    model: type[BaseModel] = create_model("SourcesTable", __base__=_SourcesTable, **fields)
    return model


def _instances(source: Source[Any], value: object) -> tuple[BaseModel, ...]:
    if value is None:
        return ()
    if isinstance(value, BaseModel) and source.layout is Layout.ONE:
        return (value,)
    if source.list_key is not None:
        value = getattr(value, source.list_key)
    assert isinstance(value, list)
    return tuple(value)


class SourcesConfig:
    """The configured instances of each source, by source name."""

    def __init__(self, instances: Mapping[str, Sequence[BaseModel]] | None = None) -> None:
        self._instances = {name: tuple(items) for name, items in (instances or {}).items()}

    @classmethod
    def parse(cls, data: object) -> SourcesConfig:
        """Validate a `[sources]` table (TOML or JSON data); raises `ValidationError`."""
        sources = registered_sources()
        table = _table_model(sources).model_validate(data)
        return cls({s.name: _instances(s, getattr(table, s.name)) for s in sources})

    def names(self) -> list[str]:
        """The configured sources (with at least one instance), in registry order."""
        return [s.name for s in registered_sources() if self._instances.get(s.name)]

    def instances(self, name: str) -> tuple[BaseModel, ...]:
        return self._instances.get(name, ())

    def jobs(self) -> list[SourceJob]:
        """One job per configured instance, in registry order."""
        return [
            source.job(options)
            for source in registered_sources()
            for options in self._instances.get(source.name, ())
        ]

    def to_toml(self) -> dict[str, JsonValue]:
        """The `[sources]` table again (JSON-ready): `parse(to_toml())` gives the same."""
        table: dict[str, JsonValue] = {}
        for source in registered_sources():
            items: list[JsonValue] = [
                item.model_dump(mode="json", exclude_none=True)
                for item in self._instances.get(source.name, ())
            ]
            if not items:
                continue
            if source.layout is Layout.ONE:
                table[source.name] = items[0]
            elif source.list_key is not None:
                table[source.name] = {source.list_key: items}
            else:
                table[source.name] = items
        return table

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SourcesConfig):
            return NotImplemented
        return self.to_toml() == other.to_toml()

    def __hash__(self) -> int:
        return hash(repr(self.to_toml()))

    def __repr__(self) -> str:
        return f"SourcesConfig({self.to_toml()!r})"

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: object, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: object) -> SourcesConfig:
            return value if isinstance(value, SourcesConfig) else cls.parse(value)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda value: value.to_toml()
            ),
        )
