"""What `umwi kpi` and `umwi sql` print: every row, escaped cells, 80 columns, exports."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rich.console import Console
from umwi.cli._output import data_table, printable, show_table
from umwi_core.lake import Lake
from umwi_core.settings import Settings

from tests.api.gold_sample import write_sample_gold
from tests.packages.umwi_cli.in_process import kpi_json, run_cli, use_settings


@pytest.fixture(autouse=True)
def _settings_from_this_test(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    use_settings(settings, monkeypatch)
    monkeypatch.setenv("COLUMNS", "80")


def test_kpi_reads_every_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lake: Lake
) -> None:
    """The command line is not capped at the API's page size. Mutation: emitting only the
    first page (`rows=[first.rows]`) turns this red."""
    write_sample_gold(lake)
    everything = kpi_json(monkeypatch, capsys, "hourly")
    monkeypatch.setenv("UMWI_API_MAX_LIMIT", "7")
    paged = kpi_json(monkeypatch, capsys, "hourly")
    assert len(everything) > 3 * 7
    assert paged == everything
    # A window across page boundaries is the same slice of the whole.
    window = kpi_json(monkeypatch, capsys, "hourly", "--offset", "5", "--limit", "16")
    assert window == everything[5:21]


def test_a_partial_export_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lake: Lake
) -> None:
    write_sample_gold(lake)
    assert run_cli(monkeypatch, "kpi", "hourly", "--limit", "3", "--format", "json") == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 3
    assert re.match(r"umwi: 3 of \d+ rows \(--offset 0, --limit 3\)", captured.err)
    assert run_cli(monkeypatch, "kpi", "hourly", "--format", "json") == 0
    assert capsys.readouterr().err == ""


def test_kpi_csv_and_parquet_hold_the_json_rows(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lake: Lake,
    tmp_path: Path,
) -> None:
    write_sample_gold(lake)
    monkeypatch.setenv("UMWI_API_MAX_LIMIT", "10")
    rows = kpi_json(monkeypatch, capsys, "weather-impact")
    assert run_cli(monkeypatch, "kpi", "weather-impact", "--format", "csv") == 0
    parsed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["network"] for row in parsed] == [row["network"] for row in rows]
    assert list(parsed[0]) == list(rows[0])
    for got, want in zip(parsed, rows, strict=True):
        for name, value in want.items():
            expected = "" if value is None else str(value)
            if isinstance(value, float):
                assert float(got[name]) == value
            elif isinstance(value, bool):
                assert got[name] == str(value)
            else:
                assert got[name] == expected

    target = tmp_path / "impact.parquet"
    assert (
        run_cli(monkeypatch, "kpi", "weather-impact", "--format", "parquet", "-o", str(target)) == 0
    )
    table = pq.read_table(target)
    assert table.num_rows == len(rows)
    assert table.column_names == list(rows[0])
    assert str(table.schema.field("period").type) == "string"
    assert table.column("departures").to_pylist() == [row["departures"] for row in rows]

    # Times travel as ISO text in JSON and come back as timestamps in Parquet.
    hourly = kpi_json(monkeypatch, capsys, "hourly")
    target = tmp_path / "hourly.parquet"
    assert run_cli(monkeypatch, "kpi", "hourly", "--format", "parquet", "-o", str(target)) == 0
    table = pq.read_table(target)
    assert str(table.schema.field("hour").type) == "timestamp[us, tz=UTC]"
    assert [
        value.isoformat().replace("+00:00", "Z") for value in table.column("hour").to_pylist()
    ] == [row["hour"] for row in hourly]


def test_parquet_needs_an_output_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lake: Lake
) -> None:
    write_sample_gold(lake)
    assert run_cli(monkeypatch, "kpi", "hourly", "--format", "parquet") == 1
    assert capsys.readouterr().err.startswith("umwi: --format parquet: give the file with --output")


def test_sql_exports_stream_typed_rows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # More rows than one streamed chunk, with a timestamp and a null.
    query = (
        "select timestamptz '2026-01-01 00:00:00+00' + to_hours(range) as hour,"
        " range as departures, case when range % 7 = 0 then null else range * 0.5 end as x"
        " from range(25000) order by all"
    )
    assert run_cli(monkeypatch, "sql", query, "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    target = tmp_path / "out.parquet"
    assert run_cli(monkeypatch, "sql", query, "--format", "parquet", "--output", str(target)) == 0
    table = pq.read_table(target)
    assert table.num_rows == len(rows) > 0
    assert str(table.schema.field("hour").type).startswith("timestamp")
    assert table.column("x").null_count == len(range(0, 25000, 7))
    assert run_cli(monkeypatch, "sql", query, "--format", "csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "hour,departures,x"
    assert lines[1] == "2026-01-01T00:00:00Z,0,"
    assert len(lines) == len(rows) + 1


def test_cells_are_text_not_markup(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutation: `table.add_row(*(str(value) ...))` (Rich markup) turns this red."""
    query = "select '[/x]' as s, '[link=http://evil]x[/link]' as t, chr(27) || '[31m' as u"
    assert run_cli(monkeypatch, "sql", query) == 0
    out = capsys.readouterr().out
    assert "[/x]" in out
    assert "[link=http://evil]x[/link]" in out
    assert "\x1b" not in out
    assert "\\x1b[31m" in out


def test_printable_escapes_control_characters() -> None:
    assert printable("plain é") == "plain é"
    assert printable("a\x1b]8;;http://x\x1b\\b") == "a\\x1b]8;;http://x\\x1b\\b"
    assert printable("tab\there") == "tab\\there"


def _assert_whole(out: str, headers: list[str], numbers: list[str]) -> None:
    assert "…" not in out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    words = set(re.findall(r"[\w.\-+*]+", out))
    for text in [*headers, *numbers]:
        assert text in words, f"{text!r} is cut in:\n{out}"


def test_wide_tables_stay_readable_at_80_columns() -> None:
    """Headers and numbers are shown whole at 80 columns: a table wider than the terminal
    becomes one block per row. Mutation: always printing the table (no `fits` check) cuts
    headers to `wea…` and turns this red."""
    columns = [f"column_number_{index}" for index in range(9)]
    rows = [{name: 1234567.0 + index for index, name in enumerate(columns)}]
    console = Console(width=80, record=True, file=io.StringIO())
    show_table(data_table(rows, columns, "wide"), console)
    _assert_whole(console.export_text(), columns, ["1234567", "1234575"])


def test_cells_of_several_words_are_never_cut() -> None:
    """A table whose cells hold phrases is measured by their whole width, not their
    longest word. Mutation: `fits` comparing `needed.minimum` (wrapping is off, so the
    table prints cut to `sev…`) turns this red."""
    columns = ["check", "table", "severity", "status", "threshold"]
    phrase = "|median shift| <= 300 s against the previous 28 days"
    row = dict(
        zip(
            columns,
            ["delay_s drift (sample)", "silver_departures", "warn", "skipped", phrase],
            strict=True,
        )
    )
    console = Console(width=80, record=True, file=io.StringIO())
    show_table(data_table([row], columns), console)
    out = console.export_text()
    assert phrase in out, out
    _assert_whole(out, columns, [])


def test_narrow_tables_stay_tables() -> None:
    console = Console(width=80, record=True, file=io.StringIO())
    show_table(data_table([{"a": 1, "b": "x"}], ["a", "b"]), console)
    out = console.export_text()
    assert "┃ a" in out or "│ a" in out or "a " in out.splitlines()[1]
    assert "── row 1 ──" not in out


def test_kpi_and_sql_tables_at_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lake: Lake
) -> None:
    from umwi_core.contracts import GOLD_COLUMNS

    write_sample_gold(lake)
    for kpi, table in (
        ("weather-impact", "weather_impact"),
        ("correlation", "correlation"),
        ("hourly", "mobility_weather_hourly"),
        ("punctuality", "punctuality_hourly"),
    ):
        rows = kpi_json(monkeypatch, capsys, kpi, "--limit", "3")
        capsys.readouterr()
        assert run_cli(monkeypatch, "kpi", kpi, "--limit", "3") == 0
        out = capsys.readouterr().out
        numbers = [
            str(value)
            for row in rows
            for value in row.values()
            if isinstance(value, int) and not isinstance(value, bool)
        ]
        _assert_whole(out, list(GOLD_COLUMNS[table]), numbers)
    names = ["network", "weather_class", "departures", "on_time_rate", "reliability_rate"]
    query = "select " + ", ".join(f"1234567 + {i} as {name}" for i, name in enumerate(names))
    assert run_cli(monkeypatch, "sql", query + " from range(3)") == 0
    _assert_whole(capsys.readouterr().out, names, ["1234567", "1234571"])


def test_every_table_goes_through_show_table() -> None:
    """A table printed directly is cut at 80 columns. Mutation: `Console().print(
    ingest_table(summary))` in `ingest.py` (as it was) turns this red."""
    import ast

    import umwi.cli

    offenders = []
    for path in sorted(Path(umwi.cli.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "print"
                and node.args
            ):
                continue
            shown = ast.unparse(node.args[0])
            if "table" in shown.lower() and path.name != "_output.py":
                offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []
