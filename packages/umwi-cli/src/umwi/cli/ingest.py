"""`umwi ingest <source>`: land one source's records in bronze and commit them to silver.

There is one command per registered source (`umwi_connectors.registered_sources()`), built
when asked for: its options are the fields of the source's options model (flag
`--<field-name>` or the field's `Cli(flag=…)`, help from the field's description), plus
`--start/--end` for a day-windowed source whose options have no `start` of their own.
"""

from __future__ import annotations

import inspect
import types
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

import annotated_types
import typer
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from typer.core import TyperCommand, TyperGroup

from umwi.cli._app import app, state
from umwi.cli._output import show_table

if TYPE_CHECKING:
    from umwi_connectors import Source

#: Keyword names of the options every command has (no options field can clash with them).
_START, _END, _FORCE = "run_start", "run_end", "run_force"
_CLI_TYPES = (str, int, float, bool, Path)


def _word(name: str) -> str:
    """CLI words use dashes, data names underscores (`gtfs_rt` → `gtfs-rt`)."""
    return name.replace("_", "-")


def _ingest(sources: dict[str, Any], *, start: str | None, end: str | None, force: bool) -> None:
    from umwi_flows import load_flows

    flows = load_flows(state.settings, verbose=state.debug)

    # Only after load_flows, which imports umwi_quality while Prefect's server boots.
    from umwi.cli._present import ingest_table, progress_bar

    with progress_bar("ingest"):
        summary = flows.ingest(sources=sources, start=start, end=end, force=force)
    show_table(ingest_table(summary))


def _cli_type(annotation: Any) -> tuple[Any, bool]:
    """The type Typer parses for a field (pydantic validates it again), and if None is allowed."""
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        optional = len(members) < len(get_args(annotation))
        annotation = members[0] if len(members) == 1 else str
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (str,)
        return types.GenericAlias(list, (_cli_type(item)[0],)), optional
    if get_origin(annotation) is Literal or annotation in _CLI_TYPES:
        return annotation, optional
    return str, optional  # dates and the rest: the text, parsed by the options model


def _flag(name: str, field: FieldInfo) -> str:
    from umwi_connectors import Cli

    marks = [mark for mark in field.metadata if isinstance(mark, Cli)]
    return marks[0].flag if marks and marks[0].flag else "--" + _word(name)


def _default(field: FieldInfo) -> Any:
    from umwi_connectors import Cli

    for mark in field.metadata:
        if isinstance(mark, Cli) and mark.default is not None:
            return mark.default
    return ... if field.is_required() else field.get_default(call_default_factory=True)


def _bounds(field: FieldInfo) -> dict[str, Any]:
    """Inclusive bounds, checked (and shown) by Typer; the options model checks the rest."""
    bounds: dict[str, Any] = {}
    for mark in field.metadata:
        if isinstance(mark, annotated_types.Ge):
            bounds["min"] = mark.ge
        if isinstance(mark, annotated_types.Le):
            bounds["max"] = mark.le
    return bounds


def _parameter(name: str, field: FieldInfo) -> inspect.Parameter:
    kind, _ = _cli_type(field.annotation)
    bounds = _bounds(field) if kind in (int, float) else {}
    option = typer.Option(_default(field), _flag(name, field), help=field.description, **bounds)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)


def _range_parameters() -> list[inspect.Parameter]:
    start = typer.Option(..., "--start", help="First UTC day, YYYY-MM-DD (inclusive).")
    end = typer.Option(..., "--end", help="Last UTC day, YYYY-MM-DD (exclusive).")
    keyword = inspect.Parameter.KEYWORD_ONLY
    return [
        inspect.Parameter(_START, keyword, default=start, annotation=str),
        inspect.Parameter(_END, keyword, default=end, annotation=str),
    ]


def _options(source: Source[Any], values: dict[str, Any]) -> Any:
    """The options model from the command's values; `InputError` naming the flag."""
    from umwi_core.errors import InputError, first_problem

    fields = source.options.model_fields
    given = {
        name: str(value.resolve()) if isinstance(value, Path) else value
        for name, value in values.items()
    }
    try:
        return source.options.model_validate(given)
    except ValidationError as error:
        loc, message = first_problem(error)
        if loc and loc[0] in fields:
            raise InputError(f"{_flag(loc[0], fields[loc[0]])}: {message}") from None
        raise InputError(f"ingest {_word(source.name)}: {message}") from None


class SourceCommand:
    """The callable Typer turns into `umwi ingest <source>` (it reads `__signature__`)."""

    def __init__(self, source: Source[Any]) -> None:
        from umwi_connectors import Windowing

        self.source = source
        fields = source.options.model_fields
        parameters = [_parameter(name, field) for name, field in fields.items()]
        if source.windowing is Windowing.DAYS and "start" not in fields:
            parameters += _range_parameters()
        force = typer.Option(False, "--force", help="Redo windows already done.")
        keyword = inspect.Parameter.KEYWORD_ONLY
        parameters.append(inspect.Parameter(_FORCE, keyword, default=force, annotation=bool))
        self.__signature__ = inspect.Signature(parameters)
        self.__annotations__ = {p.name: p.annotation for p in parameters}
        self.__doc__ = source.help

    def __call__(self, **values: Any) -> None:
        from umwi_connectors import SourcesConfig, Windowing

        force, start, end = values.pop(_FORCE), values.pop(_START, None), values.pop(_END, None)
        options = _options(self.source, values)
        if self.source.windowing is Windowing.DAYS and start is None:
            days: tuple[date, date] | None = self.source.default_range(options)
            start, end = (days[0].isoformat(), days[1].isoformat()) if days else (None, None)
        sources = SourcesConfig({self.source.name: [options]}).to_toml()
        _ingest(sources, start=start, end=end, force=force)


class SourceCommands(TyperGroup):
    """The subcommands of `umwi ingest`: the registered sources, looked up when used."""

    def list_commands(self, ctx: object) -> list[str]:
        from umwi_connectors import registered_sources

        return [_word(source.name) for source in registered_sources()]

    def get_command(self, ctx: object, cmd_name: str) -> TyperCommand | None:
        from umwi_connectors import registered_sources

        for source in registered_sources():
            if _word(source.name) == cmd_name:
                single = typer.Typer(add_completion=False)
                single.command(_word(source.name))(SourceCommand(source))
                command = typer.main.get_command(single)
                assert isinstance(command, TyperCommand)  # one command, no callback
                command.name = cmd_name
                return command
        return None


ingest_app = typer.Typer(
    cls=SourceCommands,
    help="Ingest one source into bronze and silver (re-runs skip finished windows).",
    no_args_is_help=True,
)
app.add_typer(ingest_app, name="ingest")
