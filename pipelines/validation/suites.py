"""Run a source's Great Expectations suite over a parsed extract and explain the outcome.

The suites are reviewable JSON files under ``expectations/<source>/<suite>.json``, each checking the
layouts its ``meta.layouts`` lists. Each expectation's ``meta`` says its ``category`` (what an
analyst would call the check), its ``severity`` (``error`` stops the extract; ``warning`` lets it
through and is listed in the release manifest) and which run-time parameters it ``requires``
(previous release's volumes, the release period, ODS codes). An expectation whose parameters are not
known yet (the first release of a source, ODS not loaded) is skipped and the skip is reported, never
silently passed.

GX is imported inside :func:`validate` only: it takes seconds to import and must stay off the
Airflow DAG-parse path.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.config import PROJECT_ROOT

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
_EXAMPLES = 5
# Derived columns holding ``value`` only where the unit is one of these (null elsewhere, which a
# column-values check ignores): the suites' range checks per unit.
VALUE_BY_UNIT = {
    "value_if_percent": ("percent",),
    "value_if_fraction": ("fraction",),
    "value_if_score_0_10": ("score_0_10",),
    "value_if_count": ("count", "fte", "headcount"),
}


@dataclass(frozen=True)
class Finding:
    """One failed expectation, in words an analyst can act on."""

    expectation: str
    category: str
    severity: str
    column: str | None
    message: str
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "category": self.category,
            "severity": self.severity,
            "column": self.column,
            "message": self.message,
            "examples": self.examples,
        }


@dataclass
class ValidationReport:
    """The outcome of one extract's validation."""

    source_id: str
    layout: str
    file_name: str
    findings: list[Finding]
    skipped: list[str]
    evaluated: int
    docs_index: str | None = None
    raw_result: dict[str, Any] | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """A short text for logs, notifications and the CLI: file, expectation, offending rows."""
        state = "passed" if self.passed else "FAILED"
        lines = [
            f"{self.file_name} ({self.source_id}, layout {self.layout}): validation {state} - "
            f"{self.evaluated} checks, {len(self.errors)} errors, {len(self.warnings)} warnings"
        ]
        for finding in self.errors + self.warnings:
            lines.append(f"  [{finding.severity}] {finding.category}: {finding.message}")
            for example in finding.examples[:_EXAMPLES]:
                lines.append("      e.g. " + ", ".join(f"{k}={v}" for k, v in example.items()))
        if self.skipped:
            lines.append("  not checked (no baseline yet): " + "; ".join(self.skipped))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "layout": self.layout,
            "file_name": self.file_name,
            "passed": self.passed,
            "evaluated": self.evaluated,
            "findings": [f.as_dict() for f in self.findings],
            "skipped": self.skipped,
            "docs_index": self.docs_index,
        }


def suite_path(source_id: str, layout: str) -> Path:
    """The suite file that checks this layout of the source: the one whose ``meta.layouts`` lists it.

    Layouts that differ only in how the publisher lays the file out (the seven Friends and Family
    Test settings, say) parse to the same table and are checked alike, so one file checks them all.
    """
    return _suite_for(source_id, layout)[0]


def _suite_for(source_id: str, layout: str) -> tuple[Path, dict[str, Any]]:
    found = _suites_by_layout(source_id).get(layout)
    if found is None:
        raise FileNotFoundError(f"no expectation suite for {source_id} layout {layout}: no file in "
                                f"{EXPECTATIONS_DIR / source_id} lists {layout!r} in its meta.layouts")
    return found


@functools.cache
def _suites_by_layout(source_id: str) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Each layout of a source, the suite file that checks it and that file's document, read once
    per process (finding the file reads every suite of the source anyway)."""
    by_layout: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted((EXPECTATIONS_DIR / source_id).glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        for layout in document["meta"]["layouts"]:
            if layout in by_layout:
                raise ValueError(f"{source_id} layout {layout} is checked by two suites: {by_layout[layout][0].name} "
                                 f"and {path.name}")
            by_layout[layout] = (path, document)
    return by_layout


def load_suite(source_id: str, layout: str) -> dict[str, Any]:
    """The suite for this layout, named after it (``<source>.<layout>``) as GX's results and Data Docs
    show it, whichever file holds it (its own list of the file's expectations, which are read only)."""
    suite = _suite_for(source_id, layout)[1]
    return {**suite, "name": f"{source_id}.{layout}", "meta": {**suite["meta"], "layout": layout},
            "expectations": list(suite["expectations"])}


#: The columns :func:`prepare_frame` adds for the suites to check, each made from the file's own.
DERIVED_COLUMNS = frozenset({*VALUE_BY_UNIT, "rate_discrepancy", "in_newest_period", "suppressed_with_value",
                             "resolved_org_code"})


#: What ``value`` is multiplied by to be compared with numerator / denominator, per unit, and the
#: rounding allowed for at the published precision (percentages to 2 dp, fractions to more).
_RATE_SCALE = {"percent": 100.0, "fraction": 1.0}
_RATE_TOLERANCE_SCALE = {"percent": 1.0, "fraction": 100.0}


def prepare_frame(table: pd.DataFrame, successors: dict[str, str] | None = None) -> pd.DataFrame:
    """Add the derived columns the suites check (rate consistency, suppression, resolved codes).

    Computed on NumPy arrays and added in one step: a file has a few hundred rows, so pandas' cost
    per operation was the work (7 ms a Friends and Family Test file, 3 s of its backfill).
    """
    derived: dict[str, Any] = {}
    columns = set(table.columns)
    value = _floats(table, "value") if "value" in columns else None
    unit_codes, units = pd.factorize(table["unit"]) if "unit" in columns else (None, None)
    if value is not None and unit_codes is not None and {"numerator", "denominator"} <= columns:
        scale, tolerance_scale = (_per_unit(unit_codes, units, lookup) for lookup in (_RATE_SCALE, _RATE_TOLERANCE_SCALE))
        numerator, denominator = _floats(table, "numerator"), _floats(table, "denominator")
        with np.errstate(divide="ignore", invalid="ignore"):
            usable = ~np.isnan(numerator) & ~np.isnan(value) & ~np.isnan(scale) & (denominator > 0)
            discrepancy = np.abs(value - numerator / denominator * scale) * tolerance_scale
        derived["rate_discrepancy"] = np.where(usable, discrepancy, np.nan)
    else:
        derived["rate_discrepancy"] = np.full(len(table), np.nan)
    if value is not None and unit_codes is not None:
        # Range checks per unit read these instead of a GX row_condition: pandas parses a query
        # string on every run, which cost more than all the other checks of a file together. NumPy
        # floats, NaN where the row has no value of the unit (a null to GX, as pd.NA is): GX's range
        # check took 15 times as long over pandas' masked floats (0.13 s against 0.009 s over
        # 229,000 staff-in-post rows, most of them counts).
        for column, wanted in VALUE_BY_UNIT.items():
            in_unit = np.isin(unit_codes, [code for code, name in enumerate(units) if name in wanted])
            derived[column] = np.where(in_unit, value, np.nan)
    if "period_start" in columns:
        # pandas' max, which passes over a missing period (NumPy's would be missing, and mark no row).
        derived["in_newest_period"] = (table["period_start"] == table["period_start"].max()).to_numpy(dtype="int64")
    if value is not None and "suppressed" in columns:
        suppressed = table["suppressed"].to_numpy(dtype=bool, na_value=False)
        derived["suppressed_with_value"] = suppressed & ~np.isnan(value)
    if "org_code" in columns:
        # A handful of codes have successors: replace those instead of passing every row through Python.
        derived["resolved_org_code"] = (table["org_code"].replace(successors) if successors else table["org_code"]).array
    added = pd.DataFrame(derived, index=table.index)
    replaced = [name for name in derived if name in columns]  # a table prepared before
    return pd.concat([table.drop(columns=replaced) if replaced else table, added], axis=1)


def _floats(table: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64, missing values as NaN."""
    return table[column].to_numpy(dtype="float64", na_value=np.nan)


def _per_unit(codes: np.ndarray, units: Any, lookup: dict[str, float]) -> np.ndarray:
    """The lookup's number for every row's unit, from the units factorised (NaN for a unit it does not
    name, or none: code -1 takes the NaN appended last)."""
    return np.append([lookup.get(name, np.nan) for name in units], np.nan)[codes]


@dataclass(frozen=True)
class ScreenedTogether:
    """What the screen of a batch's extracts stacked (:func:`screen_row_checks_together`) settled for
    one of them: the table as :func:`prepare_frame` made it, and for each check it settled (its
    position in the suite) None where the table passed it, else the check's result on the table's
    own rows (its offending rows, counted and indexed as the table's)."""

    prepared: pd.DataFrame
    settled: dict[int, dict[str, Any] | None]


def validate(
    table: pd.DataFrame,
    *,
    source_id: str,
    layout: str,
    file_name: str,
    parameters: dict[str, Any],
    docs_dir: Path | None = None,
    successors: dict[str, str] | None = None,
    screened: ScreenedTogether | None = None,
) -> ValidationReport:
    """Validate one parsed extract; with ``docs_dir`` also write GX Data Docs (HTML) there.

    ``screened`` is what the screen of its batch settled for this very table: those checks are not
    run again (the report counts them as evaluated, and a failed one's findings come from the
    screen's result on this table's rows), and its prepared table is not made again. With
    ``docs_dir`` every check runs, because the Data Docs show each one.
    """
    suite_doc = load_suite(source_id, layout)
    active, skipped = [], []
    settled = screened.settled if screened is not None and docs_dir is None else {}
    for position, expectation in enumerate(suite_doc["expectations"]):
        missing = [p for p in expectation["meta"].get("requires", []) if parameters.get(p) is None]
        if missing:
            skipped.append(f"{expectation['meta']['category']} ({expectation['type']}: needs {', '.join(missing)})")
        else:
            active.append((position, expectation))
    run = [(position, expectation) for position, expectation in active if position not in settled]
    frame = (prepare_frame(table, successors) if screened is None else screened.prepared).reset_index(drop=True)
    with _configurations_built_once():
        result = _run_gx(frame, suite_doc["name"], [expectation for _, expectation in run], parameters, docs_dir)
    failed = [(run[res["index"]][0], res) for res in result["results"] if not res["success"]]
    checked = {position for position, _ in active}  # a check skipped here is reported as skipped
    failed += [(position, res) for position, res in settled.items() if res is not None and position in checked]
    docs_index = str(docs_dir / "index.html") if docs_dir and (docs_dir / "index.html").exists() else None
    return ValidationReport(
        source_id=source_id,
        layout=layout,
        file_name=file_name,
        findings=[_finding(res, frame, file_name) for _, res in sorted(failed, key=lambda item: item[0])],
        skipped=skipped,
        evaluated=len(active),  # those settled by the batch's screen included
        docs_index=docs_index,
        raw_result=result,
    )


#: Checks of each row on its own: a table passes one exactly when each of its rows does, so a
#: batch's extracts stacked into one table pass it exactly when every extract does.
ROW_WISE_CHECKS = frozenset({
    "expect_column_to_exist", "expect_column_values_to_not_be_null", "expect_column_values_to_be_null",
    "expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list",
    "expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex",
    "expect_column_values_to_be_between", "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
})
#: Run-time parameters that are the same for every extract of a batch (the ODS codes known when
#: it is loaded); the others (release period, previous volumes) belong to one extract.
BATCH_PARAMETERS = frozenset({"known_org_codes"})


def is_row_wise(expectation: dict[str, Any]) -> bool:
    """Whether an extract passes this check exactly when each of its rows does, whatever else is
    stacked with it: a row-wise type, no ``mostly`` (a share of the rows is not per row), and no
    parameter of one extract's own."""
    return (expectation["type"] in ROW_WISE_CHECKS and "mostly" not in expectation.get("kwargs", {})
            and set(expectation.get("meta", {}).get("requires", [])) <= BATCH_PARAMETERS)


#: Checks of an extract as a whole that hold within each extract of a stack when the stack's column
#: numbering its extracts (:data:`STACKED_EXTRACT`) is part of what they compare: rows repeated
#: within one extract are rows repeated with the same extract number, and never across two extracts.
PER_EXTRACT_KEYED_CHECKS = frozenset({"expect_compound_columns_to_be_unique"})
#: The column numbering each extract's rows in a stack (0 for the first extract).
STACKED_EXTRACT = "stacked_extract"


def stacked_form(expectation: dict[str, Any]) -> dict[str, Any] | None:
    """The check to run over a stack of extracts so that the stack fails it exactly at each
    extract's own offending rows: a row-wise check as it is (:func:`is_row_wise`), a uniqueness
    check with the extract's number added to its columns; None for a check that cannot be."""
    if is_row_wise(expectation):
        return expectation
    kwargs = expectation.get("kwargs", {})
    if (expectation["type"] in PER_EXTRACT_KEYED_CHECKS and "mostly" not in kwargs
            and set(expectation.get("meta", {}).get("requires", [])) <= BATCH_PARAMETERS):
        return {**expectation, "kwargs": {**kwargs, "column_list": [*kwargs["column_list"], STACKED_EXTRACT]}}
    return None


def same_shape(tables: list[pd.DataFrame]) -> bool:
    """Whether the tables have the same columns with the same dtypes, in the same order: stacked,
    each column keeps its dtype, so a type check sees the values each extract has."""
    return all(table.dtypes.equals(tables[0].dtypes) for table in tables[1:])


def screen_row_checks_together(
    prepared: list[pd.DataFrame],
    *,
    source_id: str,
    layout: str,
    parameters: dict[str, Any],
) -> list[ScreenedTogether]:
    """The row-wise checks of the layout's suite, and its uniqueness check, settled for each of the
    ``prepared`` tables by GX runs over them stacked (extracts of one batch, one layout and
    :func:`same_shape`, each as :func:`prepare_frame` made it: a table's own newest period is marked
    before stacking), each check in its :func:`stacked_form`.

    A pass/fail screen of the stack settles every check all the tables pass. A check the stack fails
    runs once more over it with its offending rows collected, and each table gets the rows that are
    its own: a row-wise check fails a table exactly at its own offending rows, whatever is stacked
    with it, and so does uniqueness keyed by the extract's number. (A check that raised, or that
    failed other than by rows, such as a missing column, is left unsettled: each table runs it on its
    own.) Each extract of a backfill then runs only its checks of volumes and periods, which need
    its own parameters. GX's cost is mostly per check and run, not per row (the uniqueness check was
    5 ms of a Friends and Family Test file's 14 ms), so this is most of
    the cost of hundreds of small extracts, and of an FFT history where every month names
    independent providers ODS's trust list does not know (a warning on every file).
    """
    if not prepared or not same_shape(prepared):
        raise ValueError("screen_row_checks_together: the tables must be one or more of the same columns and dtypes")
    suite_doc = load_suite(source_id, layout)
    values = {k: v for k, v in parameters.items() if k in BATCH_PARAMETERS and v is not None}
    original = suite_doc["expectations"]
    checks = {position: form for position, expectation in enumerate(original)
              if (form := stacked_form(expectation)) is not None
              and all(values.get(p) is not None for p in expectation["meta"].get("requires", []))}
    stacked = pd.concat(prepared, ignore_index=True)
    stacked[STACKED_EXTRACT] = np.repeat(np.arange(len(prepared)), [len(table) for table in prepared])
    positions = list(checks)
    with _configurations_built_once():
        failed = [positions[index] for index in _failed_in_screen(stacked, suite_doc["name"], list(checks.values()), values)]
        rerun = _full_results(stacked, suite_doc["name"], [checks[p] for p in failed], values, None)["results"] if failed else []
    settled: list[dict[int, dict[str, Any] | None]] = [
        dict.fromkeys(sorted(set(positions) - set(failed))) for _ in prepared]
    starts = np.cumsum([0] + [len(table) for table in prepared])
    for res in rerun:
        indices = res["unexpected_index_list"]
        if (res["exception"] or not indices or (res.get("result") or {}).get("unexpected_count") != len(indices)
                or not all(isinstance(index, (int, np.integer)) for index in indices)):
            continue  # not attributable to rows (a missing column, a column's type): each table runs it
        stacked_rows = np.asarray(indices, dtype=np.int64)
        owner = np.searchsorted(starts, stacked_rows, side="right") - 1  # the table each row is from
        position = failed[res["index"]]
        # Each extract's result names the check as its suite states it (no extract number among its columns).
        config = res["expectation_config"]
        if "column_list" in config["kwargs"]:
            config = {**config, "kwargs": {**config["kwargs"], "column_list": original[position]["kwargs"]["column_list"]}}
        for number, own in enumerate(settled):
            rows = (stacked_rows[owner == number] - starts[number]).tolist()
            own[position] = {**res, "success": False, "unexpected_index_list": rows, "expectation_config": config,
                             "result": {"unexpected_count": len(rows)}} if rows else None
    return [ScreenedTogether(table, own) for table, own in zip(prepared, settled, strict=True)]


def warm_up() -> None:
    """Import Great Expectations now (seconds), for a long-lived process that forks workers."""
    _quiet_gx()
    import great_expectations  # noqa: F401


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def _configurations_built_once() -> Iterator[None]:
    """Within one validation, build each expectation's configuration once instead of on every read.

    GX 1.x derives ``Expectation.configuration`` afresh from the pydantic model on each access, and
    one validation of a 38-check suite reads it about 2,000 times: 40% of the time an extract's
    validation takes. The expectations of a run do not change while it runs, so each object's
    first configuration is kept until the run ends; the property is restored afterwards, whatever
    happens. Should a GX upgrade drop the property, validation runs unpatched (slower, the same).
    """
    from great_expectations.expectations.expectation import Expectation

    original = Expectation.__dict__.get("configuration")
    if not isinstance(original, property) or original.fget is None:
        yield
        return
    build = original.fget
    built: dict[int, tuple[object, object]] = {}  # id -> (expectation, configuration); holding the
    # expectation keeps its id from being reused by another object during the run

    def configuration(expectation: object) -> object:
        hit = built.get(id(expectation))
        if hit is None or hit[0] is not expectation:
            hit = built[id(expectation)] = (expectation, build(expectation))
        return hit[1]

    Expectation.configuration = property(configuration, doc=original.__doc__)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Expectation.configuration = original  # type: ignore[method-assign]


def _run_gx(
    frame: pd.DataFrame,
    suite_name: str,
    expectations: list[dict[str, Any]],
    parameters: dict[str, Any],
    docs_dir: Path | None,
) -> dict[str, Any]:
    """The GX validation result of one extract, as a JSON document.

    Most extracts pass every check, so a pass/fail screen (GX's BOOLEAN_ONLY result format, a
    third of the cost) runs first; only the checks that failed it run again in full, to collect the
    offending rows and observed values the findings quote. With ``docs_dir`` the whole suite runs in
    full, because the Data Docs show every check. Each result's ``index`` is its check's place in
    ``expectations``.
    """
    values = {k: v for k, v in parameters.items() if v is not None}
    if docs_dir is not None:
        return _full_results(frame, suite_name, expectations, values, docs_dir)
    failed = _failed_in_screen(frame, suite_name, expectations, values)
    if not failed:
        return {"success": True, "results": []}
    document = _full_results(frame, suite_name, [expectations[index] for index in failed], values, None)
    for res in document["results"]:
        res["index"] = failed[res["index"]]
    return document


def _full_results(
    frame: pd.DataFrame, suite_name: str, expectations: list[dict[str, Any]], values: dict[str, Any],
    docs_dir: Path | None,
) -> dict[str, Any]:
    """``expectations`` run over ``frame`` with their offending rows and observed values collected
    (and Data Docs written to ``docs_dir``); each result's ``index`` is its place in the list."""
    checkpoint = _gx_suite(suite_name, expectations, docs_dir).checkpoint
    run = checkpoint.run(batch_parameters={"dataframe": frame}, expectation_parameters=values)
    validation = next(iter(run.run_results.values()))
    document = validation.to_json_dict()
    # Keep the configs as the suite file wrote them (meta included) for the findings.
    for res, original in zip(document["results"], validation.results, strict=True):
        meta = original.expectation_config.meta or {}
        res["index"] = int(meta[_POSITION])
        res["meta"] = {k: v for k, v in meta.items() if k != _POSITION}
        res["unexpected_index_list"] = original.result.get("unexpected_index_list") or []
        res["exception"] = _exception_message(original.exception_info)
    return document


def _exception_message(info: dict[str, Any] | None) -> str | None:
    """Why GX could not run a check, if it could not: ``exception_info`` is one record, or (when a
    metric failed) one record per metric the check needed."""
    records = [info] if info and "raised_exception" in info else list((info or {}).values())
    return next((record.get("exception_message") or "an error" for record in records
                 if isinstance(record, dict) and record.get("raised_exception")), None)


def _failed_in_screen(
    frame: pd.DataFrame, suite_name: str, expectations: list[dict[str, Any]], values: dict[str, Any]
) -> list[int]:
    """Which of ``expectations`` (their positions in the list) ``frame`` fails, by GX's pass/fail
    screen (no rows or values collected)."""
    if not expectations:
        return []
    screen = _gx_suite(suite_name, expectations)
    with _no_batch_fingerprint():
        batch = screen.batch_definition.get_batch(batch_parameters={"dataframe": _columns_checked(frame, expectations)})
        result = batch.validate(screen.suite, result_format="BOOLEAN_ONLY", expectation_parameters=values)
    return [int(res.expectation_config.meta[_POSITION]) for res in result.results if not res.success]


def _columns_checked(frame: pd.DataFrame, expectations: list[dict[str, Any]]) -> pd.DataFrame:
    """``frame`` with only the columns ``expectations`` name, for a pass/fail screen.

    GX copies every column of a frame each time a check selects its rows, and sizes every column of
    a batch: a Friends and Family Test file's five checks of the table as a whole took 16.2 ms over
    its 27 columns and 14.4 ms over the 4 they read. A check passes or fails the same either way:
    the rows stay, with their index, and a named column that is missing stays missing. The full
    results, whose findings quote whole rows, still get the whole frame.
    """
    named = set()
    for expectation in expectations:
        kwargs = expectation["kwargs"]
        named.update([kwargs["column"]] if "column" in kwargs else kwargs.get("column_list", []))
    return frame[[column for column in frame.columns if column in named]]


@contextmanager
def _no_batch_fingerprint() -> Iterator[None]:
    """Within a pass/fail screen, GX does not hash the whole frame for its batch's fingerprint.

    GX hashes every value of a pandas batch smaller than 1 GB to mark the batch it validated, twice
    per screen, which cost 7-10% of a backfill's time. A screen's result is
    never kept, and the extract is already identified by its file's sha256, so the hash is skipped
    there; the reports written with Data Docs still carry it. The threshold is restored after.
    """
    from great_expectations.execution_engine import pandas_execution_engine as engine

    original = getattr(engine, "HASH_THRESHOLD", None)
    if original is None:  # a GX upgrade dropped it: screens run as before (slower, the same)
        yield
        return
    engine.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        engine.HASH_THRESHOLD = original


@dataclass(frozen=True)
class _GxSuite:
    batch_definition: Any
    suite: Any
    checkpoint: Any


_GX_SUITES: dict[str, _GxSuite] = {}
_POSITION = "suite_position"  # tags each check with its place in the list it was built from


def _gx_suite(suite_name: str, expectations: list[dict[str, Any]], docs_dir: Path | None = None) -> _GxSuite:
    """A suite's GX objects; without Data Docs they are built once per process and reused.

    Building an ephemeral context, suite and checkpoint costs more than validating a typical extract
    (and every new context compiles GX's templates again), so a backfill of hundreds of files reuses
    one per suite. The run-time parameters travel with each run, so the cached suite is the same
    whatever the file. A checkpoint that writes Data Docs is built for its own folder each time.
    """
    key = json.dumps([suite_name, expectations], sort_keys=True, default=str)
    if docs_dir is None and key in _GX_SUITES:
        return _GX_SUITES[key]
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("extract")
    batch = source.add_dataframe_asset("table").add_batch_definition_whole_dataframe("whole")
    tagged = [{**item, "meta": {**item.get("meta", {}), _POSITION: position}} for position, item in enumerate(expectations)]
    suite = context.suites.add(ExpectationSuite(name=suite_name, expectations=tagged))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
    actions = []
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(
            site_name="extract",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        actions.append(gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["extract"]))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=suite_name,
            validation_definitions=[definition],
            actions=actions,
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": _EXAMPLES},
        )
    )
    built = _GxSuite(batch, suite, checkpoint)
    if docs_dir is None:
        _GX_SUITES[key] = built
    return built


def _finding(res: dict[str, Any], frame: pd.DataFrame, file_name: str) -> Finding:
    config = res["expectation_config"]
    kwargs = config.get("kwargs", {})
    meta = res.get("meta") or config.get("meta") or {}
    checked = kwargs.get("column")
    column = meta.get("reported_column") or checked or (
        ",".join(kwargs["column_list"]) if "column_list" in kwargs else None)
    result = res.get("result") or {}
    positions = [int(index.get("index", next(iter(index.values()))) if isinstance(index, dict) else index)
                 for index in res.get("unexpected_index_list") or []]  # compound checks give row values
    examples: list[dict[str, Any]] = []
    for position in positions:
        row = frame.iloc[position]
        example = {"row": _row_number(row)}
        if "org_code" in frame.columns:
            example["org_code"] = row["org_code"]
        for name in kwargs.get("column_list", [column] if column in frame.columns else []):
            if name != "org_code":
                example[name] = _plain(row[name])
        # One published row is several observations (a value per measure): quote each row once.
        if example not in examples:
            examples.append(example)
        if len(examples) == _EXAMPLES:
            break
    if checked and checked not in frame.columns:  # GX says only that the check could not run
        text = (f"column {checked!r} could not be made, as a column it is made from is missing"
                if checked in DERIVED_COLUMNS else f"required column {checked!r} is missing")
        column = checked
    else:
        text = _describe(config["type"], kwargs, result, res.get("exception"), meta.get("scope"))
    if positions and "source_row" in frame.columns:
        rows = frame["source_row"].iloc[positions].nunique()
        if rows < len(positions):
            text += f" ({rows} rows)"
    where = f" in column {column!r}" if column and f"column {column!r}" not in text else ""
    return Finding(
        expectation=config["type"],
        category=meta.get("category", "other"),
        severity=meta.get("severity", "error"),
        column=column,
        message=f"{file_name}: {text}{where}",
        examples=examples,
    )


def _row_number(row: pd.Series) -> Any:
    return _plain(row["source_row"]) if "source_row" in row.index else None


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, str) and value.endswith("T00:00:00"):
        return value[: -len("T00:00:00")]
    return value.item() if hasattr(value, "item") else value


def _describe(
    kind: str, kwargs: dict[str, Any], result: dict[str, Any], exception: str | None, scope: str | None = None
) -> str:
    """One sentence per expectation type, saying what was expected and what was found."""
    if exception:
        return f"check {kind} could not run ({exception.splitlines()[0][:200]})"
    count = result.get("unexpected_count")
    observed = result.get("observed_value")
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    bounds = f"between {_plain(low)} and {_plain(high)}" if low is not None and high is not None else (
        f"at least {_plain(low)}" if low is not None else f"at most {_plain(high)}"
    )
    if kind == "expect_column_to_exist":
        return f"required column {kwargs['column']!r} is missing"
    if kind == "expect_column_sum_to_be_between" and kwargs.get("column") == "in_newest_period":
        return (f"{observed} rows in the file's newest period, expected {bounds} "
                "(the previous release's newest period +/- tolerance)")
    if kind == "expect_table_row_count_to_be_between":
        return f"{observed} rows, expected {bounds} (previous release of this source +/- tolerance)"
    if kind == "expect_column_unique_value_count_to_be_between":
        return f"{observed} organisations, expected {bounds} (previous release of this source +/- tolerance)"
    if kind in {"expect_column_max_to_be_between", "expect_column_min_to_be_between"}:
        which = "newest" if "max" in kind else "oldest"
        return f"the {which} period is {_plain(observed)}, but this release is for {_plain(low)}"
    if kind == "expect_compound_columns_to_be_unique":
        return f"{count} rows repeat the same organisation, period, measure and breakdown"
    if kind == "expect_column_values_to_match_regex":
        return f"{count} values are not ODS organisation codes"
    if kind == "expect_column_values_to_not_be_null":
        return f"{count} rows have no value where one is required"
    if kind == "expect_column_values_to_be_in_set":
        return f"{count} values outside the allowed set"
    if kind == "expect_column_values_to_be_between":
        where = f" (rows where {scope})" if scope else ""
        return f"{count} values not {bounds}{where}"
    if kind.startswith("expect_column_values_to_be_of_type") or kind.endswith("type_list"):
        return f"{count} values of the wrong type"
    return f"{kind} failed ({count if count is not None else observed})"
