"""The contract of ``benchmarks.benchmark_table`` and ``benchmarks.benchmark_methods``.

One place names every output column with its SQL type and meaning, so the table is created
from the same list on DuckDB and PostgreSQL, the frame is cast to it before loading, and the
documentation cannot drift from the code. The method catalogue (one row per method with its
options and reference) is written beside the table so every ``*_method`` value in a row can
be looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

BENCHMARK_SCHEMA = "benchmarks"
BENCHMARK_TABLE = "benchmark_table"
METHODS_TABLE = "benchmark_methods"

#: (name, SQL type, meaning), in output order.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    # --- identity ---------------------------------------------------------------------------
    ("org_code", "text", "ODS code of the trust"),
    ("org_name", "text", "Trust name (dim_organisation)"),
    ("metric_id", "text", "Metric id (dim_metric)"),
    ("metric_name", "text", "Metric name"),
    ("unit", "text", "Unit of value: percent (0-100), fraction (0-1), score_0_10, count, fte, headcount"),
    ("polarity", "text", "higher_is_better, lower_is_better or none (none: rank 1 / best = highest)"),
    ("benchmark_method", "text", "Catalogue method: proportion, rate, ratio, score or distribution"),
    ("grain", "text", "Period grain (month, survey_year, rolling_12m)"),
    ("period_start", "date", "First day of the period"),
    ("period_end", "date", "Last day of the period"),
    ("is_latest_period", "boolean", "This is the latest period of the trust's series for the metric"),
    ("comparator", "text", "network, peer_group or england"),
    ("comparator_group", "text", "The group compared against: the network's name ('network' when unnamed), "
     "the peer group key or 'england'; null when the trust has no peer group"),
    # --- the trust's cell -------------------------------------------------------------------
    ("value", "double precision", "Published value in unit; null when suppressed or not published"),
    ("numerator", "double precision", "Numerator; null when suppressed"),
    ("denominator", "double precision", "Denominator; null when suppressed"),
    ("suppressed", "boolean", "The input cell was suppressed: never ranked, never in a distribution, "
     "every statistic derived from it is null"),
    # --- position in the comparator's distribution ------------------------------------------
    ("comparator_value", "double precision", "The comparator's value: pooled sum(numerator) / "
     "sum(denominator) (x100 for percent) for proportion / rate / ratio metrics, else the median"),
    ("comparator_value_method", "text", "pooled_ratio_of_sums or median"),
    ("comparator_n", "bigint", "Number of unsuppressed, published values in the comparator group (rank out of)"),
    ("median", "double precision", "Median of the comparator group's values"),
    ("q1", "double precision", "Lower quartile (quantile_method)"),
    ("q3", "double precision", "Upper quartile (quantile_method)"),
    ("best", "double precision", "Best value in the group by polarity (max when higher is better or none)"),
    ("worst", "double precision", "Worst value in the group by polarity"),
    ("rank", "bigint", "1 = best in the group; ties share the lowest rank"),
    ("percentile", "double precision", "100 x (units strictly worse) / (n - 1): best 100, worst 0"),
    ("quantile_method", "text", "Quartile definition (fingertips_interpolated)"),
    ("rank_method", "text", "Rank / percentile definition"),
    ("distribution_reason", "text", "Why rank / percentile / group statistics are null"),
    # --- significance against the comparator value ------------------------------------------
    ("ci_lower", "double precision", "Lower 95% confidence limit, in unit"),
    ("ci_upper", "double precision", "Upper 95% confidence limit, in unit"),
    ("ci_lower_998", "double precision", "Lower 99.8% confidence limit, in unit"),
    ("ci_upper_998", "double precision", "Upper 99.8% confidence limit, in unit"),
    ("ci_method", "text", "Interval method and options (wilson_score / byar_exact_poisson)"),
    ("significance", "text", "Best / Better / Similar / Worse / Worst (Higher / Similar / Lower without "
     "polarity) or Not compared"),
    ("significance_method", "text", "Comparison method and levels"),
    ("significance_reason", "text", "Why significance is Not compared"),
    # --- funnel plot ----------------------------------------------------------------------------
    ("funnel_method", "text", "Funnel limits (unadjusted and overdispersion-adjusted) and options"),
    ("funnel_size", "double precision", "Funnel x axis: denominator (proportion) or expected count E = "
     "denominator x comparator rate (rate / ratio)"),
    ("funnel_ratio", "double precision", "Observed / expected (rate / ratio metrics only)"),
    ("funnel_lower_95", "double precision", "Unadjusted lower 95% limit at this size, in unit"),
    ("funnel_upper_95", "double precision", "Unadjusted upper 95% limit, in unit"),
    ("funnel_lower_998", "double precision", "Unadjusted lower 99.8% limit, in unit"),
    ("funnel_upper_998", "double precision", "Unadjusted upper 99.8% limit, in unit"),
    ("funnel_adj_lower_95", "double precision", "Overdispersion-adjusted lower 95% limit, in unit"),
    ("funnel_adj_upper_95", "double precision", "Overdispersion-adjusted upper 95% limit, in unit"),
    ("funnel_adj_lower_998", "double precision", "Overdispersion-adjusted lower 99.8% limit, in unit"),
    ("funnel_adj_upper_998", "double precision", "Overdispersion-adjusted upper 99.8% limit, in unit"),
    ("funnel_phi", "double precision", "Dispersion ratio phi of the comparator group (winsorised z-scores)"),
    ("funnel_tau2", "double precision", "Between-unit variance tau^2 added on the transformed scale"),
    ("funnel_adjusted", "boolean", "tau^2 > 0, so the adjusted limits are wider than the unadjusted"),
    ("funnel_flag", "text", "Position against the unadjusted limits: above / below 99.8% limit, above / "
     "below 95% limit, within 95% limits"),
    ("funnel_flag_adjusted", "text", "Position against the overdispersion-adjusted limits"),
    ("funnel_reason", "text", "Why funnel values (or the adjusted ones) are null"),
    # --- SPC: this period's point on the trust's chart --------------------------------------
    ("spc_point_variation", "text", "Making Data Count classification of this period's point "
     "(common_cause, improvement_/concern_/neither_ high/low)"),
    ("spc_point_rules", "text", "Special-cause rules flagging this point (beyond_limits, shift, "
     "two_of_three, trend), comma-separated"),
    # --- SPC and trend: the trust's series, as of its latest period --------------------------
    ("spc_method", "text", "XmR method and options"),
    ("spc_points", "bigint", "Non-missing points on the chart"),
    ("spc_limits_available", "boolean", "Enough points for process limits (else a run chart)"),
    ("spc_mean", "double precision", "Centre line (mean of the baseline points)"),
    ("spc_lpl", "double precision", "Lower process limit"),
    ("spc_upl", "double precision", "Upper process limit"),
    ("spc_lower_2sigma", "double precision", "Lower 2-sigma line"),
    ("spc_upper_2sigma", "double precision", "Upper 2-sigma line"),
    ("spc_latest_period_start", "date", "Latest period on the chart (the icons describe this point)"),
    ("spc_latest_rules", "text", "Special-cause rules flagging the latest point"),
    ("variation_icon", "text", "Making Data Count variation icon of the latest point"),
    ("assurance_icon", "text", "Making Data Count assurance icon (needs a target and process limits)"),
    ("target", "double precision", "Target from the metric catalogue"),
    ("spc_reason", "text", "Why SPC outputs are null or limited (e.g. run chart)"),
    ("assurance_reason", "text", "Why the assurance icon is null"),
    ("trend_direction", "text", "Fingertips recent trend over the last 5 points: increasing, decreasing, "
     "no significant change, could not be calculated"),
    ("trend_slope", "double precision", "Slope per period, in unit"),
    ("trend_chi2", "double precision", "Chi-square of the slope"),
    ("trend_method", "text", "Recent trend method and options"),
    ("trend_reason", "text", "Why the trend could not be calculated"),
    # --- lineage ---------------------------------------------------------------------------
    ("vintage", "text", "Publication the value came from"),
    ("extract_sha256", "text", "SHA-256 of the published extract(s)"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _, _ in COLUMNS)
COLUMN_TYPES: dict[str, str] = {name: kind for name, kind, _ in COLUMNS}


def empty_table() -> pd.DataFrame:
    """The benchmark table with no rows and the output dtypes."""
    return cast_to_schema(pd.DataFrame({name: [] for name in COLUMN_NAMES}))


def cast_to_schema(columns: Mapping[str, Any] | pd.DataFrame) -> pd.DataFrame:
    """A frame with the contract's columns, in order, with dtypes that load as the declared SQL types.

    Floats become nullable ``Float64`` (NaN -> NULL, never a NaN in the warehouse), integers
    ``Int64``, booleans ``boolean``, dates ``datetime64`` at midnight, text categorical
    (:func:`text_column`). ``columns`` maps names to arrays (or is a frame).
    """
    out = {}
    for name, kind in COLUMN_TYPES.items():
        column = columns[name]
        if kind == "double precision":
            values = column.to_numpy() if isinstance(column, pd.Series) else column
            if getattr(values, "dtype", None) != np.float64:
                values = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy("float64")
            out[name] = pd.array(values, dtype="Float64")
        elif kind == "bigint":
            values = np.asarray(column, dtype=object) if not isinstance(column, np.ndarray) else column
            floats = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy("float64")
            out[name] = pd.array(floats, dtype="Float64").astype("Int64")
        elif kind == "boolean":
            out[name] = _booleans(column)
        elif kind == "date":
            out[name] = pd.to_datetime(pd.Series(column)).astype("datetime64[ns]").array
        else:
            out[name] = text_column(column)
    return pd.DataFrame(out)


def _booleans(column: Any) -> pd.arrays.BooleanArray:
    values = column.to_numpy() if isinstance(column, pd.Series) else np.asarray(column)
    if values.dtype == bool:
        return pd.array(values, dtype="boolean")
    mask = pd.isna(values)
    data = np.zeros(values.size, dtype=bool)
    data[~mask] = values[~mask].astype(bool)
    return pd.arrays.BooleanArray(data, mask)


def text_column(values: Any) -> pd.Series:
    """Text as an object column of ``str`` / None.

    Not pandas' ``str`` dtype: converting a million Python strings to it costs more than the
    whole benchmark computation, and DuckDB / the CSV writer read object columns directly.
    """
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=object, na_value=None)
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    return _shared_text(codes, np.asarray(uniques, dtype=object))


def _shared_text(codes: np.ndarray, uniques: np.ndarray) -> pd.Series:
    """An object column of ``uniques[code]`` (None where the code is negative).

    One str object per distinct value, shared by every row holding it: a national table repeats a
    few hundred labels across millions of cells, and a separate copy in each cell costs GBs.
    """
    shared = np.full(len(codes), None, dtype=object)
    present = codes >= 0
    shared[present] = uniques[codes[present]]
    return pd.Series(shared, dtype=object, copy=False)


def frame_from_arrow(batch: pa.RecordBatch) -> pd.DataFrame:
    """:func:`cast_to_schema` of an Arrow batch of the benchmark table, converted in Arrow's C++.

    The same frame, dtypes and shared text as ``cast_to_schema(batch.to_pandas())``, without
    turning every cell into a Python object first: text is dictionary-encoded (one str per
    distinct value), numbers and dates go straight to their arrays.
    """
    import pyarrow.compute as pc

    out = {}
    for name, kind in COLUMN_TYPES.items():
        column = batch.column(name)
        if kind == "double precision":
            out[name] = pd.array(column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype="Float64")
        elif kind == "bigint":
            floats = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
            out[name] = pd.array(floats, dtype="Float64").astype("Int64")
        elif kind == "boolean":
            out[name] = _booleans(column.to_numpy(zero_copy_only=False))
        elif kind == "date":
            out[name] = pd.to_datetime(pd.Series(column.to_pandas())).astype("datetime64[ns]").array
        else:
            encoded = pc.dictionary_encode(column.cast(pa.string()))
            codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
            out[name] = _shared_text(codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object))
    return pd.DataFrame(out)


def create_table_sql(schema: str = BENCHMARK_SCHEMA, table: str = BENCHMARK_TABLE) -> str:
    columns = ", ".join(f'"{name}" {kind}' for name, kind, _ in COLUMNS)
    return f'create table {schema}."{table}" ({columns})'


@dataclass(frozen=True)
class MethodRecord:
    """One row of ``benchmarks.benchmark_methods``."""

    method_id: str
    family: str
    applies_to: str
    columns: str
    options: str
    reference: str


METHOD_COLUMNS: dict[str, str] = {
    "method_id": "text",
    "family": "text",
    "applies_to": "text",
    "columns": "text",
    "options": "text",
    "reference": "text",
}
