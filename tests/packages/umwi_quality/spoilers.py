"""One minimal bad batch per data rule: the good view plus one spoiled row (two for a range:
one past each end), or one changed column, made to break that rule and no other.

The rules are enumerated from the contracts (`umwi_core.contracts`: required columns, key,
`Column.range` / `Column.one_of`, `TableContract.rules`), the schema, and the cross-table
rules of the GE suites; `spoilers` raises on a rule it has no spoiler for, so a new rule
needs one here. `expected_checks` says which checks of each engine state a rule: exactly
those must fail on its spoiler.

Soda's schema check does not tell an int32 from an int64 (it compares type families); GE's
"column types match the contract" does, so the integer-width spoiler fails GE's check only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyarrow as pa
from umwi_core.contracts import ALL_LINES, Column, TableContract
from umwi_quality import CheckResult
from umwi_quality._ge_suites import _ACROSS_TABLES, SuiteContext
from umwi_quality._views import VIEW_CONTRACTS

from tests.packages.umwi_quality.factory import FUTURE

Row = dict[str, Any]
#: ("schema",), ("schema types",), ("not null", column), ("key",), ("value", column),
#: ("rule", name) or ("across", name).
Rule = tuple[str, ...]

#: The string column a spoiled row changes to get a key of its own.
FRESH_KEY = {
    "silver_departures": "trip_id",
    "silver_weather_hourly": "location_id",
    "silver_weather_forecast": "location_id",
}
FRESH = "spoiler"


@dataclass(frozen=True)
class Spoiler:
    view: str
    rule: Rule
    table: pa.Table
    #: Rows added to break the rule: each check stating it must count every one of them
    #: (0 when the spoiler changes a column or an existing row instead).
    rows: int = 0

    @property
    def name(self) -> str:
        return f"{self.view}: {' '.join(self.rule)}"


def rules(view: str, context: SuiteContext) -> list[Rule]:
    """Every rule checked on `view`, from its contract and the cross-table suites."""
    contract = VIEW_CONTRACTS[view]
    found: list[Rule] = [("schema",), ("schema types",), ("key",)]
    found += [("not null", name) for name in contract.required]
    found += [
        ("value", column.name)
        for column in contract.columns
        if column.range is not None or column.one_of is not None
    ]
    found += [("rule", rule.name) for rule in contract.rules]
    across = _ACROSS_TABLES.get(view)
    found += [("across", e.meta["check"]) for e in (across(context) if across else [])]
    return found


def expected_checks(view: str, rule: Rule, checks: list[CheckResult]) -> set[tuple[str, str]]:
    """(engine, check) of the checks among `checks` (a run on `view`) that state `rule`."""
    contract = VIEW_CONTRACTS[view]

    def states(check: CheckResult) -> bool:
        ge = check.engine == "great_expectations"
        soda_type = str((check.details or {}).get("soda_type", ""))
        kind, *rest = rule
        name = rest[0] if rest else ""
        if kind == "schema":
            return check.check in _SCHEMA_GE if ge else soda_type == "schema"
        if kind == "schema types":
            # Soda's schema check compares type families: an integer of another width
            # passes it, so only GE's type check states this rule.
            return ge and check.check == _TYPES_GE
        if kind == "key":
            return check.check == "key unique"
        if kind == "not null":
            if ge:
                return check.check == f"{name} not null"
            return soda_type == "missing" and check.check.startswith(f"{name}: ")
        if kind == "value":
            if ge:
                return check.check in _value_check_names(contract.column(name))
            return soda_type == "invalid" and check.check.startswith(f"{name}: ")
        if kind == "rule":
            return check.check == name
        return ge and check.check == name  # across

    return {(c.engine, c.check) for c in checks if c.table == view and states(c)}


_TYPES_GE = "column types match the contract"
_SCHEMA_GE = {"columns match the contract", _TYPES_GE}


def _value_check_names(column: Column) -> set[str]:
    names = set()
    if column.range is not None:
        names.add(column.range.check_name(column.name))
    if column.one_of is not None:
        names.add(column.one_of.check_name(column.name))
    return names


# --- the spoiled rows ---------------------------------------------------------------------


def _bad_values(column: Column, row: Row) -> list[Any]:
    """Values of `column` its value set refuses, or one past each end of its range."""
    if column.one_of is not None:
        values = column.one_of.values
        return ["bogus" if isinstance(values[0], str) else max(values) + 51]  # type: ignore[operator]
    assert column.range is not None
    low, high = column.range.low, column.range.high
    ends = [end for end in (None if low is None else low - 1, None if high is None else high + 1)]
    kind = int if isinstance(row[column.name], int) else float
    return [kind(end) for end in ends if end is not None]


def _fresh(view: str, row: Row) -> Row:
    """`row` with a key no good row has."""
    column = FRESH_KEY.get(view, "line_id")
    return {**row, column: FRESH}


def _departure_times(row: Row, *, scheduled: Any = None, delay: Any = None) -> Row:
    """A departure whose observed_at still equals scheduled_at + delay_s."""
    scheduled = row["scheduled_at"] if scheduled is None else scheduled
    delay = row["delay_s"] if delay is None else delay
    return {
        **row,
        "scheduled_at": scheduled,
        "delay_s": delay,
        "observed_at": scheduled + timedelta(seconds=delay),
    }


Spoil = Callable[[Row], Row]

#: Rules whose plain spoiler would break another rule too, and how to break only theirs.
#: Keys are (view or "*", rule); "*" applies to every view with that rule.
SPECIAL: dict[tuple[str, Rule], Spoil] = {
    # A delay past two days must still equal observed_at - scheduled_at.
    ("silver_departures", ("value", "delay_s")): lambda r: _departure_times(r, delay=-172_801),
    ("silver_departures", ("rule", "scheduled_at not in the future")): lambda r: _departure_times(
        r, scheduled=FUTURE
    ),
    ("silver_departures", ("rule", "ingested_at not in the future")): lambda r: {
        **r,
        "ingested_at": FUTURE,
    },
    ("silver_departures", ("rule", "cancelled exactly when there is no real-time value")): (
        lambda r: {**r, "cancelled": True}
    ),
    ("silver_departures", ("rule", "delay_s equals observed_at - scheduled_at")): lambda r: {
        **r,
        "observed_at": r["observed_at"] + timedelta(seconds=100),
    },
    ("*", ("rule", "source is a source name")): lambda r: {**r, "source": "Not A Source"},
    ("*", ("rule", "hour not in the future")): lambda r: {**r, "hour": FUTURE},
    ("silver_weather_hourly", ("rule", "hour is the start of an hour")): lambda r: {
        **r,
        "hour": r["hour"] + timedelta(minutes=30),
    },
    ("*", ("rule", "cancelled and on_time within departures")): lambda r: {
        **r,
        "cancelled": r["departures"] + 1,
    },
    ("*", ("rule", "p50_delay_s <= p90_delay_s")): lambda r: {
        **r,
        "p50_delay_s": 100.0,
        "p90_delay_s": 10.0,
    },
    ("*", ("rule", "period is 'all' or YYYY-MM")): lambda r: {**r, "period": "2026-13"},
    # An out-of-range r keeps "ci_low <= pearson_r <= ci_high" without a CI.
    ("*", ("value", "pearson_r")): lambda r: {
        **r,
        "pearson_r": 1.5,
        "ci_low": None,
        "ci_high": None,
        "ci_low_adj": None,
        "ci_high_adj": None,
    },
    ("*", ("rule", "ci_low <= pearson_r <= ci_high")): lambda r: {
        **r,
        "pearson_r": 0.9,
        "ci_low": -0.1,
        "ci_high": 0.1,
        "ci_low_adj": -0.2,
        "ci_high_adj": 0.95,
    },
    ("*", ("rule", "ci_low_adj <= pearson_r <= ci_high_adj")): lambda r: {
        **r,
        "pearson_r": 0.05,
        "ci_low": -0.1,
        "ci_high": 0.1,
        "ci_low_adj": 0.5,
        "ci_high_adj": 0.9,
    },
    ("*", ("rule", "n_eff <= n")): lambda r: {**r, "n_eff": float(r["n"]) + 5.0},
    # A negative n keeps "n_eff <= n" only without an n_eff (the outlook's fuller good data
    # has one).
    ("*", ("value", "n")): lambda r: {**r, "n": -1, "n_eff": None},
    ("*", ("rule", "uplift_low_s <= uplift_s <= uplift_high_s")): lambda r: {
        **r,
        "uplift_s": 100.0,
        "uplift_low_s": 1.0,
        "uplift_high_s": 10.0,
    },
    # A period of its own: the network's real '*' row keeps its key.
    ("*", ("rule", "no rank for '*'")): lambda r: {
        **r,
        "line_id": "*",
        "rank": 1,
        "period": "2099-01",
    },
    (
        "gold_punctuality_hourly",
        ("across", "every departure hour with known weather joins a weather row"),
    ): (lambda r: {**r, "location_id": "NOWHERE"}),
    # The outlook (DESIGN.md §8).
    ("silver_weather_forecast", ("rule", "hour is the start of an hour")): lambda r: {
        **r,
        "hour": r["hour"] + timedelta(minutes=30),
    },
    ("silver_weather_forecast", ("rule", "issued_at not in the future")): lambda r: {
        **r,
        "issued_at": FUTURE,
        "hour": FUTURE.replace(minute=0, second=0, microsecond=0),
    },
    ("gold_outlook_hourly", ("rule", "expectations within their intervals")): lambda r: {
        **r,
        "expected_mean_delay_s": 100.0,
        "mean_delay_low_s": 0.0,
        "mean_delay_high_s": 10.0,
    },
    ("gold_outlook_hourly", ("rule", "hour within 48 h of the issue time")): lambda r: {
        **r,
        "hour": r["issued_at"].replace(minute=0, second=0, microsecond=0) + timedelta(hours=72),
    },
    # Rates out of range without leaving their (then unknown) interval.
    **{
        ("gold_outlook_hourly", ("value", f"expected_{stem}")): (
            lambda r, stem=stem: {
                **r,
                f"expected_{stem}": 1.5,
                f"{stem}_low": None,
                f"{stem}_high": None,
            }
        )
        for stem in ("on_time_rate", "reliability_rate")
    },
    **{
        ("gold_outlook_hourly", ("value", f"{stem}_{end}")): (
            lambda r, stem=stem, end=end: {
                **r,
                f"expected_{stem}": None,
                f"{stem}_{end}": 1.5 if end == "high" else -0.5,
            }
        )
        for stem in ("on_time_rate", "reliability_rate")
        for end in ("low", "high")
    },
}

#: Punctuality rows the join rule would flag once their hour or weather location changes:
#: these spoilers leave the weather unknown (a null location_id is allowed there).
_UNKNOWN_WEATHER = {("rule", "hour not in the future"), ("not null", "hour")}


def _spoiled_rows(view: str, contract: TableContract, rule: Rule, base: Row) -> list[Row]:
    row = _fresh(view, base)
    special = SPECIAL.get((view, rule)) or SPECIAL.get(("*", rule))
    kind = rule[0]
    if special is not None:
        rows = [special(row)]
    elif kind == "not null":
        rows = [{**row, rule[1]: None}]
    elif kind == "value":
        column = contract.column(rule[1])
        rows = []
        for number, value in enumerate(_bad_values(column, row)):
            bad = {**_fresh(view, base), column.name: value}
            bad[FRESH_KEY.get(view, "line_id")] = f"{FRESH}-{number}"
            if column.name == "departures":
                # Zero counts keep "cancelled and on_time within departures" where it applies.
                bad.update({name: 0 for name in ("cancelled", "on_time") if name in bad})
            rows.append(bad)
    else:
        raise LookupError(f"no spoiler for {view}: {rule}; add one to SPECIAL")
    if view == "gold_punctuality_hourly" and rule in _UNKNOWN_WEATHER:
        rows = [{**row, "location_id": None} for row in rows]
    return rows


def _base(view: str, good: pa.Table) -> Row:
    """A good row to spoil; in gold, of a single line, so the `*` totals stay whole."""
    rows = good.to_pylist()
    if "line_id" in good.column_names:
        rows = [row for row in rows if row["line_id"] != ALL_LINES]
    return dict(rows[0])


def _with_rows(good: pa.Table, rows: list[Row]) -> pa.Table:
    schema = pa.schema([field.with_nullable(True) for field in good.schema])
    return pa.concat_tables([good.cast(schema), pa.Table.from_pylist(rows, schema=schema)])


def _retyped(good: pa.Table) -> pa.Table:
    """The first integer column in another integer width: same values, wrong type."""
    widths = {pa.int16(): pa.int32(), pa.int32(): pa.int64(), pa.int64(): pa.int32()}
    for index, field in enumerate(good.schema):
        if field.type in widths:
            return good.set_column(index, field.name, good.column(index).cast(widths[field.type]))
    raise LookupError("no integer column to retype")


def _totals_inflated(good: pa.Table) -> pa.Table:
    """One departure more in the first `*` row: gold totals no longer equal silver's."""
    rows = good.to_pylist()
    index = next(i for i, row in enumerate(rows) if row["line_id"] == ALL_LINES)
    rows[index] = {**rows[index], "departures": rows[index]["departures"] + 1}
    return pa.Table.from_pylist(rows, schema=good.schema)


def spoil(view: str, rule: Rule, good: pa.Table) -> Spoiler:
    """`good` with the minimal change that breaks `rule` of `view`."""
    contract = VIEW_CONTRACTS[view]
    if rule == ("schema",):
        extra = good.append_column("unexpected", pa.array(["x"] * good.num_rows))
        return Spoiler(view, rule, extra)
    if rule == ("schema types",):
        return Spoiler(view, rule, _retyped(good))
    if rule == ("across", "gold totals equal silver totals"):
        return Spoiler(view, rule, _totals_inflated(good))
    base = _base(view, good)
    if rule == ("key",):
        return Spoiler(view, rule, _with_rows(good, [base]))
    rows = _spoiled_rows(view, contract, rule, base)
    return Spoiler(view, rule, _with_rows(good, rows), rows=len(rows))


def spoilers(good: dict[str, pa.Table], context: SuiteContext) -> Iterator[Spoiler]:
    """A spoiler for every rule of every checked view."""
    for view in VIEW_CONTRACTS:
        for rule in rules(view, context):
            yield spoil(view, rule, good[view])
