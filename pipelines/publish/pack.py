"""Per-trust benchmark packs: one self-contained HTML page per network trust (and an index).

Each page (``packs/<ODS code>.html``) has inline CSS and inline SVG only: no scripts, no fonts,
images or styles from anywhere, and a Content-Security-Policy that forbids loading any. Sections:

1. **Headline table** - every metric at the trust's latest period: value with its 95% interval,
   the comparator value and Fingertips significance against the network, peer group and England
   (colour *and* text label), network rank, recent trend and the Making Data Count icons.
2. **Spine chart** - every metric with a distribution, against one comparator (England, else
   the peer group, else the network): worst-Q1-median-Q3-best, oriented so right = better.
3. **Funnel plots** - value against size with the comparator's 95% / 99.8% limits (and the
   overdispersion-adjusted 99.8% limits when tau^2 > 0), the trust highlighted.
4. **SPC charts** - XmR chart of the trust's series (mean, process limits, target, special-cause
   points coloured and shaped by class) with labelled variation / assurance badges.
5. **Culture-outcome associations** - a forest plot of Spearman's rho with its 95% interval, when
   an association frame is given.
6. **Definitions and caveats** - metric definitions, the methods named in the table, caveats.

Chart budget (keeps a page readable and ~6 trusts x ~40 metrics well under a second each):
funnel and SPC charts are drawn for the *headline metrics per domain* - up to
:data:`CHARTS_PER_DOMAIN` metrics of each domain (metrics with a polarity first; within those,
the ones flagged as significantly different or showing special cause first, then catalogue
order), at most :data:`MAX_FUNNELS` / :data:`MAX_SPC_CHARTS` per page. The headline table and
the spine chart always cover every metric.

File names come only from ODS codes that match
:data:`pipelines.parsers.common.ODS_CODE_PATTERN` in full; a data value never names a file.
Suppressed cells are masked here as well as upstream: their value, counts, interval and rank are
never printed, plotted or put in a tooltip.
"""

from __future__ import annotations

import html
import logging
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipelines.parsers.common import ODS_CODE_PATTERN
from pipelines.publish import charts
from pipelines.publish.chromium import print_pdfs, render_pdf
from pipelines.publish.release import ReleaseError
from pipelines.synthetic.world import SYNTHETIC_BANNER

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from pipelines.config import Settings

__all__ = ["write_packs", "render_pdf", "CHARTS_PER_DOMAIN", "MAX_FUNNELS", "MAX_SPC_CHARTS"]

PACK_FOLDER = "packs"
COMPARATORS = ("network", "peer_group", "england")
COMPARATOR_LABEL = {"network": "Network", "peer_group": "Peer group", "england": "England"}
#: Funnels and the spine chart use the first of these the trust has (England gives the widest context).
CONTEXT_COMPARATORS = ("england", "peer_group", "network")
CHARTS_PER_DOMAIN = 2
MAX_FUNNELS = 10
MAX_SPC_CHARTS = 10
MAX_ASSOCIATION_PAIRS = 15
DIRECTED = ("higher_is_better", "lower_is_better")
FLAGGED = {"Best", "Better", "Worse", "Worst"}
DOMAIN_TYPE_ORDER = {"culture": 0, "outcome": 1, "context": 2}

_ODS = re.compile(ODS_CODE_PATTERN)
_CATALOGUE = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "metric_catalogue.csv"

# Columns read from the benchmark table (pipelines/benchmark/schema.py); all but the first five optional.
REQUIRED = ("org_code", "metric_id", "period_start", "comparator", "value")
NUMERIC = (
    "value", "numerator", "denominator", "comparator_value", "comparator_n", "n", "median", "q1", "q3", "best",
    "worst", "rank", "percentile", "ci_lower", "ci_upper", "funnel_size", "funnel_ratio", "funnel_lower_95",
    "funnel_upper_95", "funnel_lower_998", "funnel_upper_998", "funnel_tau2", "spc_points", "spc_mean",
    "spc_lpl", "spc_upl", "target",
)
TEXT = (
    "org_code", "org_name", "metric_id", "metric_name", "unit", "polarity", "benchmark_method", "grain",
    "comparator", "comparator_group", "comparator_value_method", "significance", "significance_reason",
    "significance_method", "ci_method", "distribution_reason", "funnel_method", "funnel_flag",
    "funnel_flag_adjusted", "funnel_reason", "spc_method", "spc_point_variation", "spc_point_rules",
    "spc_latest_rules", "variation_icon", "assurance_icon", "spc_reason", "assurance_reason",
    "trend_direction", "trend_reason", "trend_method", "domain", "domain_type", "vintage",
)
DATES = ("period_start", "period_end")
FLAGS = ("suppressed", "is_latest_period", "spc_limits_available", "funnel_adjusted")
#: Statistics of the trust's own cell: blanked on a suppressed row whatever the table says.
OWN_CELL = ("value", "numerator", "denominator", "ci_lower", "ci_upper", "rank", "percentile", "funnel_size",
            "funnel_ratio")
_TRUE = {"true", "t", "1", "yes", "y"}

Progress = Callable[[str], Any]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def valid_ods(code: object) -> bool:
    return isinstance(code, str) and _ODS.fullmatch(code) is not None


# --- the table, normalised once -----------------------------------------------------------------

def _text_array(series: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([None if (u is None or (isinstance(u, str) and not u.strip())) else str(u).strip()
                       for u in uniques] + [None], dtype=object)
    return mapped[codes]  # code -1 picks the trailing None


def _flag_array(series: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)

    def one(item: object) -> bool:
        if isinstance(item, str):
            return item.strip().lower() in _TRUE
        try:
            return bool(item) and not pd.isna(item)
        except (TypeError, ValueError):
            return False

    mapped = np.array([one(u) for u in uniques] + [False], dtype=bool)
    return mapped[codes]


class Table:
    """The benchmark table's columns as numpy arrays (absent optional columns: NaN / None / False)."""

    def __init__(self, table: pd.DataFrame):
        missing = [name for name in REQUIRED if name not in table.columns]
        if missing:
            raise ValueError(f"write_packs: the benchmark table lacks the columns {missing}")
        self.size = len(table)
        self.present = set(table.columns)
        self.cols: dict[str, np.ndarray] = {}
        for name in NUMERIC:
            if name in table.columns:
                values = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                values = values.copy()
                values[~np.isfinite(values)] = np.nan
            else:
                values = np.full(self.size, np.nan)
            self.cols[name] = values
        for name in TEXT:
            self.cols[name] = (_text_array(table[name]) if name in table.columns
                               else np.full(self.size, None, dtype=object))
        for name in DATES:
            self.cols[name] = (pd.to_datetime(table[name], errors="coerce").to_numpy("datetime64[ns]")
                               if name in table.columns else np.full(self.size, np.datetime64("NaT"), "datetime64[ns]"))
        for name in FLAGS:
            self.cols[name] = _flag_array(table[name]) if name in table.columns else np.zeros(self.size, bool)
        if "comparator_n" not in table.columns and "n" in table.columns:
            self.cols["comparator_n"] = self.cols["n"]
        suppressed = self.cols["suppressed"]
        for name in OWN_CELL:
            self.cols[name][suppressed] = np.nan
        self.cols["spc_point_variation"][suppressed] = None
        self._org_index: dict[str, np.ndarray] | None = None
        self._funnel_index: dict[tuple, np.ndarray] | None = None
        self._metric_periods: dict[str, np.ndarray] | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]

    def has(self, name: str) -> bool:
        return name in self.present

    def org_rows(self, code: str) -> np.ndarray:
        if self._org_index is None:
            org = pd.Series(self.cols["org_code"], dtype=object)
            self._org_index = {k: np.asarray(v) for k, v in org.groupby(org, sort=False).indices.items()}
        return self._org_index.get(code, np.zeros(0, dtype=np.int64))

    def funnel_group(self, metric: str, comparator: str, group: object, period: np.datetime64) -> np.ndarray:
        """Rows (any trust) plotted on one funnel: same metric, period, comparator and group."""
        if self._funnel_index is None:
            keep = np.flatnonzero(~np.isnan(self.cols["funnel_size"]) & ~np.isnan(self.cols["value"]))
            keys = pd.DataFrame({
                "metric": self.cols["metric_id"][keep], "comparator": self.cols["comparator"][keep],
                "group": pd.Series(self.cols["comparator_group"][keep], dtype=object).fillna(""),
                "period": self.cols["period_start"][keep],
            })
            self._funnel_index = {k: keep[v] for k, v in keys.groupby(
                ["metric", "comparator", "group", "period"], sort=False).indices.items()}
        return self._funnel_index.get((metric, comparator, group or "", period), np.zeros(0, dtype=np.int64))

    def metric_periods(self, metric: str) -> np.ndarray:
        """Every period of the metric in the table (the calendar an SPC series runs over)."""
        if self._metric_periods is None:
            frame = pd.DataFrame({"metric": self.cols["metric_id"], "period": self.cols["period_start"]})
            frame = frame.dropna().drop_duplicates()
            self._metric_periods = {m: np.sort(g["period"].to_numpy("datetime64[ns]"))
                                    for m, g in frame.groupby("metric", sort=False)}
        return self._metric_periods.get(metric, np.zeros(0, dtype="datetime64[ns]"))


# --- metric catalogue (domains and descriptions, when the table does not carry them) ----------

@lru_cache(maxsize=1)
def _catalogue() -> dict[str, dict[str, str]]:
    try:
        frame = pd.read_csv(_CATALOGUE, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError):
        return {}
    return {row["metric_id"]: dict(row) for row in frame.to_dict("records") if row.get("metric_id")}


def _catalogue_order() -> dict[str, int]:
    return {metric: i for i, metric in enumerate(_catalogue())}


# --- formatting ---------------------------------------------------------------------------------

def formatter(unit: str | None) -> Callable[[float], str]:
    if unit == "percent":
        return lambda v: f"{v:.1f}%"
    if unit == "fraction":
        return lambda v: f"{v * 100:.1f}%"
    if unit == "score_0_10":
        return lambda v: f"{v:.2f}"
    if unit == "fte":
        return lambda v: f"{v:,.1f}"
    if unit in ("count", "headcount"):
        return lambda v: f"{v:,.0f}"
    return lambda v: f"{v:.4g}"


def period_label(start: np.datetime64, end: np.datetime64, grain: str | None, short: bool = False) -> str:
    if pd.isna(start):
        return "unknown period"
    s = pd.Timestamp(start)
    if grain == "survey_year":
        return f"{s.year}" if short else f"Survey {s.year}"
    if grain == "rolling_12m":
        e = pd.Timestamp(end) if not pd.isna(end) else s + pd.DateOffset(months=11)
        return f"{e:%b %y}" if short else f"12 months to {e:%b %Y}"
    return f"{s:%b %y}" if short else f"{s:%b %Y}"


def humanise(key: str | None) -> str:
    if not key:
        return "Other metrics"
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


POLARITY_TEXT = {"higher_is_better": "Higher is better", "lower_is_better": "Lower is better",
                 "none": "No polarity (higher is not better or worse)"}
TREND_TEXT = {"increasing": "\u2197 Increasing", "decreasing": "\u2198 Decreasing",
              "no significant change": "\u2192 No significant change"}


def sig_chip(label: str | None, title: str | None = None) -> str:
    label = label if label in charts.SIGNIFICANCE_STYLE else charts.NOT_COMPARED
    slug = label.lower().replace(" ", "-")
    tip = f' title="{esc(title)}"' if title else ""
    return f'<span class="sig sig-{slug}"{tip}>{esc(label)}</span>'


# --- one trust's view ---------------------------------------------------------------------------

@dataclass
class Metric:
    metric_id: str
    name: str
    unit: str | None
    polarity: str | None
    method: str | None
    grain: str | None
    domain: str
    domain_type: str | None
    description: str
    target: float | None
    latest: np.datetime64
    rows: dict[str, int] = field(default_factory=dict)  # comparator -> row at the latest period
    series: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # rows by period, one each

    @property
    def fmt(self) -> Callable[[float], str]:
        return formatter(self.unit)

    def row(self, comparators: Iterable[str] = CONTEXT_COMPARATORS) -> int | None:
        for comparator in comparators:
            if comparator in self.rows:
                return self.rows[comparator]
        return next(iter(self.rows.values()), None)

    def flagged(self, t: Table) -> bool:
        special = t["variation_icon"][self.row()] if self.rows else None
        return any(t["significance"][i] in FLAGGED for i in self.rows.values()) or (
            isinstance(special, str) and special != "common_cause")


def trust_metrics(t: Table, idx: np.ndarray) -> list[Metric]:
    """The trust's metrics in catalogue order, each with its latest-period row per comparator and its
    series (one row per period, taken from the first comparator of :data:`CONTEXT_COMPARATORS` present:
    the cell is the same under every comparator)."""
    idx = idx[pd.notna(t["metric_id"][idx]) & ~np.isnat(t["period_start"][idx])]
    if idx.size == 0:
        return []
    codes, uniques = pd.factorize(t["metric_id"][idx])
    period = t["period_start"][idx]
    preference = {c: k for k, c in enumerate(CONTEXT_COMPARATORS)}
    pref = np.array([preference.get(c, 9) for c in t["comparator"][idx]], dtype=np.int64)
    order = np.lexsort((pref, period, codes))
    idx, codes, period = idx[order], codes[order], period[order]
    bounds = np.flatnonzero(np.diff(codes)) + 1
    catalogue, positions = _catalogue(), _catalogue_order()
    flagged_latest = t["is_latest_period"][idx]
    metrics = []
    for segment in np.split(np.arange(idx.size), bounds):
        rows_all, periods = idx[segment], period[segment]
        marked = periods[flagged_latest[segment]]
        latest = marked.max() if t.has("is_latest_period") and marked.size else periods.max()
        at_latest = rows_all[periods == latest]
        rows: dict[str, int] = {}
        for i in at_latest:
            comparator = t["comparator"][i]
            if comparator and comparator not in rows:
                rows[comparator] = int(i)
        _, first_of_period = np.unique(periods, return_index=True)  # sorted by period, preferred first
        series = rows_all[first_of_period].astype(np.int64)
        first = int(at_latest[0])
        metric_id = str(uniques[codes[segment[0]]])
        entry = catalogue.get(metric_id, {})
        target = t["target"][first]
        if np.isnan(target) and entry.get("target"):
            try:
                target = float(entry["target"])
            except ValueError:
                target = np.nan
        metrics.append(Metric(
            metric_id=metric_id,
            name=t["metric_name"][first] or entry.get("metric_name") or metric_id,
            unit=t["unit"][first] or entry.get("unit") or None,
            polarity=t["polarity"][first] or entry.get("polarity") or None,
            method=t["benchmark_method"][first] or entry.get("benchmark_method") or None,
            grain=t["grain"][first] or entry.get("grain") or None,
            domain=t["domain"][first] or entry.get("domain") or "",
            domain_type=t["domain_type"][first] or entry.get("domain_type") or None,
            description=entry.get("description", ""),
            target=None if np.isnan(target) else float(target), latest=np.datetime64(latest, "ns"),
            rows=rows, series=series,
        ))
    metrics.sort(key=lambda m: (DOMAIN_TYPE_ORDER.get(m.domain_type or "", 3), positions.get(m.metric_id, 10_000),
                                m.metric_id))
    return metrics


def headline_metrics(metrics: list[Metric], t: Table, eligible: Callable[[Metric], bool], limit: int) -> list[Metric]:
    """Up to CHARTS_PER_DOMAIN eligible metrics per domain, directed and flagged ones first."""
    chosen: list[Metric] = []
    per_domain: dict[str, int] = {}
    ranked = sorted(
        (m for m in metrics if eligible(m)),
        key=lambda m: (m.polarity not in DIRECTED, not m.flagged(t)),
    )  # stable: catalogue order within each class
    for m in ranked:
        key = m.domain or f"metric:{m.metric_id}"  # a metric outside the catalogue is its own domain
        if per_domain.get(key, 0) >= CHARTS_PER_DOMAIN or len(chosen) >= limit:
            continue
        per_domain[key] = per_domain.get(key, 0) + 1
        chosen.append(m)
    position = {m.metric_id: k for k, m in enumerate(metrics)}
    return sorted(chosen, key=lambda m: position[m.metric_id])


# --- sections -----------------------------------------------------------------------------------

class Page:
    """Unique chart ids within one page."""

    def __init__(self, code: str):
        self.code = code
        self.count = 0

    def chart_id(self) -> str:
        self.count += 1
        return f"{self.code.lower()}-c{self.count}"


def _value_text(t: Table, i: int | None, fmt: Callable[[float], str]) -> str:
    if i is None:
        return "not published"
    if t["suppressed"][i]:
        return "suppressed"
    v = t["value"][i]
    return fmt(v) if not np.isnan(v) else "not published"


def headline_section(t: Table, metrics: list[Metric], page: Page) -> str:
    head = ("<tr><th scope=\"col\">Metric</th><th scope=\"col\">Period</th><th scope=\"col\">Trust value</th>"
            + "".join(f'<th scope="col">vs {COMPARATOR_LABEL[c]}</th>' for c in COMPARATORS)
            + '<th scope="col">Network rank</th><th scope="col">Recent trend</th>'
              '<th scope="col">SPC</th></tr>')
    body = []
    domain = None
    for m in metrics:
        if m.domain != domain:
            domain = m.domain
            kind = f" ({m.domain_type})" if m.domain_type else ""
            body.append(f'<tr class="domain"><th colspan="9" scope="colgroup">{esc(humanise(domain))}{esc(kind)}'
                        "</th></tr>")
        row = m.row()
        fmt = m.fmt
        cells = [f'<th scope="row" class="metric">{esc(m.name)}<span class="pol">{esc(POLARITY_TEXT.get(m.polarity or "", ""))}</span></th>']
        cells.append(f"<td>{esc(period_label(m.latest, t['period_end'][row], m.grain))}</td>")
        if row is not None and t["suppressed"][row]:
            value = '<span class="supp">Suppressed</span>'
        else:
            value = f"<strong>{esc(_value_text(t, row, fmt))}</strong>"
            if row is not None and not (np.isnan(t["ci_lower"][row]) or np.isnan(t["ci_upper"][row])):
                value += (f'<span class="ci">95% CI {esc(fmt(t["ci_lower"][row]))}\u2013'
                          f'{esc(fmt(t["ci_upper"][row]))}</span>')
        cells.append(f'<td class="num">{value}</td>')
        for comparator in COMPARATORS:
            i = m.rows.get(comparator)
            if i is None:
                cells.append('<td class="cmp na">\u2013</td>')
                continue
            reason = t["significance_reason"][i]
            chip = sig_chip(t["significance"][i], reason)
            cv = t["comparator_value"][i]
            group = t["comparator_group"][i]
            cv_text = (f'<span class="cv" title="{esc(group or "")}">{esc(fmt(cv))}</span>'
                       if not np.isnan(cv) else "")
            cells.append(f'<td class="cmp">{chip}{cv_text}</td>')
        net = m.rows.get("network")
        if net is not None and not np.isnan(t["rank"][net]):
            n = t["comparator_n"][net]
            rank = f"{int(t['rank'][net])}" + (f" of {int(n)}" if not np.isnan(n) else "")
        else:
            rank = "\u2013"
        cells.append(f'<td class="num">{esc(rank)}</td>')
        trend = t["trend_direction"][row] if row is not None else None
        trend_reason = t["trend_reason"][row] if row is not None else None
        trend_text = TREND_TEXT.get(trend or "", "\u2013")
        tip = f' title="{esc(trend_reason)}"' if trend_reason else ""
        cells.append(f"<td{tip}>{esc(trend_text)}</td>")
        badges = ""
        if row is not None:
            badges = (charts.variation_badge(page.chart_id(), t["variation_icon"][row], compact=True)
                      + charts.assurance_badge(page.chart_id(), t["assurance_icon"][row], compact=True))
        cells.append(f'<td class="icons">{badges or chr(0x2013)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<section id="headline"><h2>Headline table: latest period</h2>'
        "<p>Each metric at the trust's latest published period. Significance compares the trust's 95% "
        "(and 99.8%) confidence interval with the comparator value shown under the label; metrics "
        "without an interval (scores, counts) are <em>Not compared</em>.</p>"
        + key_html(page)
        + '<div class="table-wrap"><table class="headline"><thead>' + head + "</thead><tbody>"
        + "".join(body) + "</tbody></table></div></section>"
    )


def key_html(page: Page) -> str:
    chips = "".join(sig_chip(label) for label in charts.SIGNIFICANCE_STYLE)
    variation = "".join(f"<li>{charts.variation_badge(page.chart_id(), icon)}</li>" for icon in charts.VARIATION)
    assurance = "".join(f"<li>{charts.assurance_badge(page.chart_id(), icon)}</li>" for icon in charts.ASSURANCE)
    return (
        '<div class="key"><div><h3>Significance</h3><p class="chips">' + chips + "</p>"
        "<p class=\"small\">Best / Worst: outside the 99.8% interval too. Higher / Lower: metrics without "
        "a polarity.</p></div>"
        '<div class="wide"><h3>SPC variation (Making Data Count)</h3><ul class="badges">' + variation + "</ul></div>"
        '<div><h3>SPC assurance</h3><ul class="badges">' + assurance + "</ul></div></div>"
    )


def spine_section(t: Table, metrics: list[Metric], page: Page) -> str:
    comparator = next((c for c in CONTEXT_COMPARATORS
                       if any(c in m.rows and not np.isnan(t["median"][m.rows[c]]) for m in metrics)), None)
    if comparator is None:
        return ('<section id="spine"><h2>Spine chart</h2><p class="note">No comparator distribution (median, '
                "quartiles, best and worst) is available for this trust.</p></section>")
    label = COMPARATOR_LABEL[comparator]
    rows, skipped = [], []
    for m in metrics:
        i = m.rows.get(comparator)
        stats = [t[name][i] if i is not None else np.nan for name in ("worst", "q1", "median", "q3", "best")]
        if i is None or any(np.isnan(s) for s in stats):
            skipped.append(m.name)
            continue
        fmt = m.fmt
        n = t["comparator_n"][i]
        described = (f"{label}: worst {fmt(stats[0])}, Q1 {fmt(stats[1])}, median {fmt(stats[2])}, "
                     f"Q3 {fmt(stats[3])}, best {fmt(stats[4])}" + (f" (n={int(n)})" if not np.isnan(n) else ""))
        value = t["value"][i]
        rows.append(charts.SpineRow(
            label=m.name, value_text=_value_text(t, i, fmt), comparator_text=described,
            value=None if np.isnan(value) else float(value), worst=stats[0], q1=stats[1], median=stats[2],
            q3=stats[3], best=stats[4], significance=t["significance"][i] or charts.NOT_COMPARED,
        ))
    svg = charts.spine_svg(
        page.chart_id(), f"Spine chart: the trust against {label} for {len(rows)} metrics",
        f"For each metric a bar from the worst to the best {label} value with the interquartile range and "
        "median; a circle marks the trust, coloured by significance. Right is better.", rows, label)
    note = (f'<p class="note">Not on the spine (no {label} distribution at the latest period): '
            f"{esc(', '.join(skipped))}.</p>" if skipped else "")
    return (
        f'<section id="spine"><h2>Spine chart against {esc(label)}</h2>'
        f'<figure aria-label="Spine chart against {esc(label)}">{svg}'
        f"<figcaption>The trust's latest value for each metric within the {esc(label)} range: light band "
        "worst to best, dark band lower to upper quartile, line at the median. Oriented so that right is "
        "better (higher for metrics without a polarity); best and worst follow each metric's polarity."
        f"</figcaption></figure>{note}</section>"
    )


def _funnel_curves(t: Table, m: Metric, i: int, j: int, sizes: np.ndarray) -> tuple[dict[str, list], str]:
    """Limit curves over the plotted sizes: recomputed with :mod:`pipelines.stats` from the comparator
    value (checked against the limits the table gives at the size of row ``j``, a plotted unit), else
    the table's limits at each unit's size joined up. ``i`` is the trust's row (the comparator)."""
    from pipelines.stats import (
        adjusted_funnel_limits_proportion,
        adjusted_funnel_limits_ratio,
        poisson_funnel_limits,
        proportion_funnel_limits,
    )

    centre = t["comparator_value"][i]
    method = m.method or ("rate" if not np.isnan(t["funnel_ratio"][j]) else "proportion")
    scale = 100.0 if m.unit == "percent" else 1.0
    lo, hi = float(np.nanmin(sizes)), float(np.nanmax(sizes)) * 1.05
    grid = np.unique(np.concatenate([np.geomspace(max(lo * 0.6, 1e-9), hi, 90), [t["funnel_size"][j]]]))
    curves: dict[str, list] = {}
    tau2 = t["funnel_tau2"][i]
    try:
        for level, name in ((0.95, "95"), (0.998, "998")):
            if method == "proportion":
                low, high = proportion_funnel_limits(grid, centre / scale, level)
                low, high = low * scale, high * scale
            else:
                low, high = poisson_funnel_limits(grid, level)
                low, high = low * centre, high * centre
            curves[f"lower_{name}"], curves[f"upper_{name}"] = list(zip(grid, low, strict=True)), list(zip(grid, high, strict=True))
        if not np.isnan(tau2) and tau2 > 0:
            if method == "proportion":
                low, high = adjusted_funnel_limits_proportion(grid, centre / scale, tau2, 0.998)
                low, high = low * scale, high * scale
            else:
                low, high = adjusted_funnel_limits_ratio(grid, tau2, 0.998)
                low, high = low * centre, high * centre
            curves["adj_lower_998"], curves["adj_upper_998"] = list(zip(grid, low, strict=True)), list(zip(grid, high, strict=True))
        agree = True
        at = dict(curves["upper_998"])[t["funnel_size"][j]]
        published = t["funnel_upper_998"][j]
        if not np.isnan(published):
            agree = math.isclose(at, published, rel_tol=1e-3, abs_tol=1e-9 * max(1.0, abs(published)))
        if agree:
            return curves, "computed"
    except (ValueError, TypeError, KeyError):
        pass
    # fallback: the table's own limits at each unit's size
    return {}, "table"


def _has_funnel(t: Table, m: Metric) -> bool:
    return any(t.funnel_group(m.metric_id, c, t["comparator_group"][i], t["period_start"][i]).size
               for c, i in m.rows.items() if not np.isnan(t["comparator_value"][i]))


def _tabled_curves(t: Table, group: np.ndarray) -> dict[str, list]:
    order = group[np.argsort(t["funnel_size"][group], kind="stable")]
    curves = {}
    for name in ("lower_95", "upper_95", "lower_998", "upper_998"):
        column = t[f"funnel_{name}"]
        pts = [(t["funnel_size"][j], column[j]) for j in order if not np.isnan(column[j])]
        if len(pts) >= 2:
            curves[name] = pts
    return curves


def funnel_figure(t: Table, m: Metric, members: set[str], page: Page, trust_name: str) -> str | None:
    """The funnel for the first comparator whose group has funnel values; the trust is highlighted when
    its own cell has them (a suppressed cell is no point, and the caption says so)."""
    comparator, group = None, np.zeros(0, dtype=np.int64)
    for c in CONTEXT_COMPARATORS:
        i = m.rows.get(c)
        if i is None or np.isnan(t["comparator_value"][i]):
            continue
        group = t.funnel_group(m.metric_id, c, t["comparator_group"][i], t["period_start"][i])
        if group.size:
            comparator = c
            break
    if comparator is None:
        return None
    i = m.rows[comparator]
    fmt = m.fmt
    code = t["org_code"][i]
    points = []
    for j in group:
        other = t["org_code"][j]
        role = "trust" if other == code else ("network" if other in members else "other")
        name = t["org_name"][j] or other
        points.append(charts.FunnelPoint(
            float(t["funnel_size"][j]), float(t["value"][j]),
            f"{name} ({other}): {fmt(t['value'][j])}, size {charts.short_number(t['funnel_size'][j])}", role))
    on_funnel = any(p.role == "trust" for p in points)
    reference = i if on_funnel else int(group[0])
    curves, source = _funnel_curves(t, m, i, reference, t["funnel_size"][group])
    if not curves:
        curves = _tabled_curves(t, group)
    label = COMPARATOR_LABEL[comparator]
    group_name = t["comparator_group"][i]
    scope = f"{label} ({group_name})" if group_name and group_name not in ("england", "network") else label
    rate_like = m.method in ("rate", "ratio") or (m.method is None and not np.isnan(t["funnel_ratio"][reference]))
    x_label = "Expected count (denominator \u00d7 comparator rate)" if rate_like else "Denominator (size)"
    significance = t["significance"][i] or charts.NOT_COMPARED
    colour = charts.SIGNIFICANCE_STYLE.get(significance, charts.SIGNIFICANCE_STYLE[charts.NOT_COMPARED])[0]
    period = period_label(m.latest, t["period_end"][i], m.grain)
    title = f"Funnel plot: {m.name}, {period}, {scope}"
    if on_funnel:
        flag = t["funnel_flag"][i] or "not flagged"
        flag_adj = t["funnel_flag_adjusted"][i]
        trust_text = f"{trust_name}: {fmt(t['value'][i])}, {flag}."
        caption_trust = (f"This trust {esc(fmt(t['value'][i]))}: {sig_chip(significance)} {esc(flag)}."
                         + (f" Against the overdispersion-adjusted limits: {esc(flag_adj)}." if flag_adj else ""))
    else:
        state = "suppressed" if t["suppressed"][i] else "not on the funnel (no numerator and denominator)"
        trust_text = f"{trust_name}: {state}."
        caption_trust = f"This trust's value is {esc(state)}: it is not plotted."
    desc = (f"{len(points)} trusts by size and value with the {label} value {fmt(t['comparator_value'][i])} and "
            f"95% and 99.8% limits. {trust_text}")
    svg = charts.funnel_svg(page.chart_id(), title, desc, points, float(t["comparator_value"][i]), curves, fmt,
                            x_label, colour)
    if not svg:
        return None
    source_note = " Limits joined from the table's values at each trust's size." if source == "table" else ""
    return (
        f'<figure class="chart-fig" aria-label="{esc(title)}">{svg}<figcaption><strong>{esc(m.name)}</strong>, '
        f"{esc(period)}, against {esc(scope)} ({len(points)} trusts). {caption_trust}{source_note}"
        "</figcaption></figure>"
    )


def spc_figure(t: Table, m: Metric, page: Page) -> str | None:
    if m.series.size == 0:
        return None
    rows = {t["period_start"][j]: j for j in m.series}
    first, last = t["period_start"][m.series[0]], t["period_start"][m.series[-1]]
    calendar = t.metric_periods(m.metric_id)
    calendar = calendar[(calendar >= first) & (calendar <= last)] if calendar.size else np.array(list(rows))
    fmt = m.fmt
    points = []
    for period in calendar:
        j = rows.get(period)
        if j is None:
            points.append(charts.SpcPoint(period_label(period, np.datetime64("NaT"), m.grain, True), None, None,
                                          "not published"))
            continue
        value = t["value"][j]
        present = not np.isnan(value)
        points.append(charts.SpcPoint(
            period_label(period, t["period_end"][j], m.grain, short=True), float(value) if present else None,
            t["spc_point_variation"][j] if present else None, _value_text(t, j, fmt)))
    if sum(p.value is not None for p in points) < 2:
        return None
    latest = m.series[-1]
    limits = bool(t["spc_limits_available"][latest])

    def num(name: str) -> float | None:
        v = t[name][latest]
        return None if np.isnan(v) else float(v)

    mean, lpl, upl = num("spc_mean"), num("spc_lpl") if limits else None, num("spc_upl") if limits else None
    n_points = sum(p.value is not None for p in points)
    chart_kind = "XmR chart" if limits else "Run chart"
    title = f"{chart_kind}: {m.name}"
    variation = t["variation_icon"][latest]
    assurance = t["assurance_icon"][latest]
    v_label = charts.VARIATION.get(variation or "", (None, None, None, "no variation icon"))[3]
    desc = (f"{n_points} points from {points[0].label} to {points[-1].label}"
            + (f"; mean {fmt(mean)}" if mean is not None else "")
            + (f"; process limits {fmt(lpl)} to {fmt(upl)}" if lpl is not None and upl is not None else "")
            + f"; latest point: {v_label}.")
    svg = charts.spc_svg(page.chart_id(), title, desc, points, mean, lpl, upl, m.target, fmt)
    badges = (charts.variation_badge(page.chart_id(), variation) + charts.assurance_badge(page.chart_id(), assurance))
    if not badges:
        badges = '<span class="small">No Making Data Count icon for the latest point.</span>'
    notes = []
    rules = t["spc_latest_rules"][latest]
    if rules:
        notes.append(f"Latest point flagged by: {rules.replace(',', ', ').replace('_', ' ')}.")
    for reason in (t["spc_reason"][latest], t["assurance_reason"][latest]):
        if reason:
            notes.append(reason[:1].upper() + reason[1:] + ".")
    gaps = sum(p.value is None for p in points)
    if gaps:
        notes.append(f"{gaps} period(s) suppressed or not published are gaps (marked s), never values.")
    return (
        f'<figure class="chart-fig" aria-label="{esc(title)}"><div class="badge-row">{badges}</div>{svg}'
        f"<figcaption><strong>{esc(m.name)}</strong>: {esc(chart_kind.lower())} of {n_points} points"
        + (f", mean {esc(fmt(mean))}" if mean is not None else "")
        + (f", process limits {esc(fmt(lpl))} to {esc(fmt(upl))}" if lpl is not None and upl is not None else "")
        + ". " + esc(" ".join(notes)) + "</figcaption></figure>"
    )


def association_section(associations: pd.DataFrame | None, names: dict[str, str], page: Page) -> str:
    title = "<h2>Culture and outcome associations</h2>"
    if associations is None or len(associations) == 0:
        return (f'<section id="associations">{title}<p class="note">No culture-outcome association table was '
                "supplied for this release.</p></section>")
    frame = associations
    rho_col = "rho" if "rho" in frame.columns else "spearman_rho" if "spearman_rho" in frame.columns else None
    n_col = "n" if "n" in frame.columns else "n_trusts" if "n_trusts" in frame.columns else None
    needed = {"survey_year", "scope", "culture_metric_id", "outcome_metric_id"}
    if rho_col is None or not needed <= set(frame.columns):
        return (f'<section id="associations">{title}<p class="note">The association table lacks the columns '
                "needed (survey_year, scope, culture_metric_id, outcome_metric_id, rho).</p></section>")

    def col(name: str | None) -> np.ndarray:
        if name is None or name not in frame.columns:
            return np.full(len(frame), np.nan)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy("float64", na_value=np.nan)

    years = col("survey_year")
    latest = np.nanmax(years) if np.isfinite(years).any() else np.nan
    keep = years == latest if np.isfinite(latest) else np.ones(len(frame), bool)
    rho, lower, upper, n = col(rho_col)[keep], col("ci_lower")[keep], col("ci_upper")[keep], col(n_col)[keep]
    scope = _text_array(frame["scope"])[keep]
    scope_name = (_text_array(frame["scope_name"])[keep] if "scope_name" in frame.columns
                  else np.full(len(rho), None, dtype=object))
    culture = _text_array(frame["culture_metric_id"])[keep]
    outcome = _text_array(frame["outcome_metric_id"])[keep]
    reason = _text_array(frame["null_reason"])[keep] if "null_reason" in frame.columns else np.full(len(rho), None)
    pairs: dict[tuple[str, str], list[int]] = {}
    for k in range(len(rho)):
        pairs.setdefault((culture[k], outcome[k]), []).append(k)

    def scope_rank(k: int) -> int:
        return 0 if (scope[k] or "").lower() == "england" else 1

    def pair_key(item: tuple[tuple[str, str], list[int]]) -> float:
        values = [rho[k] for k in sorted(item[1], key=scope_rank) if np.isfinite(rho[k])]
        return -values[0] if values else 2.0

    ordered = sorted(pairs.items(), key=pair_key)
    shown, omitted = ordered[:MAX_ASSOCIATION_PAIRS], max(0, len(ordered) - MAX_ASSOCIATION_PAIRS)
    rows = []
    for (c, o), ks in shown:
        for k in sorted(ks, key=scope_rank):
            rows.append(charts.ForestRow(
                label=f"{names.get(c or '', c)} \u2192 {names.get(o or '', o)}",
                scope=scope_name[k] or humanise(scope[k]) or "",
                rho=float(rho[k]) if np.isfinite(rho[k]) else None,
                lower=float(lower[k]) if np.isfinite(lower[k]) else None,
                upper=float(upper[k]) if np.isfinite(upper[k]) else None,
                n=int(n[k]) if np.isfinite(n[k]) else None, note=reason[k] or "not estimated"))
    year = f"{int(latest)}" if np.isfinite(latest) else "all years"
    svg = charts.forest_svg(page.chart_id(), f"Culture-outcome associations, survey year {year}",
                            f"Spearman rank correlation with 95% confidence interval for {len(shown)} culture and "
                            "outcome metric pairs across trusts.", rows)
    more = f" {omitted} further pair(s) are in the association table and not drawn." if omitted else ""
    return (
        f'<section id="associations">{title}<figure aria-label="Forest plot of culture-outcome associations">'
        f"{svg}<figcaption>Spearman's rho between trusts' culture metrics and outcome metrics, survey year "
        f"{esc(year)}, England and network, sorted by rho; bars are 95% intervals (Fisher z). These describe "
        "the whole group of trusts, are the same on every trust's pack and are associations, not causal "
        f"effects.{esc(more)}</figcaption></figure></section>"
    )


def definitions_section(t: Table, metrics: list[Metric], idx: np.ndarray, missing: list[str]) -> str:
    rows = []
    for m in metrics:
        target = m.fmt(m.target) if m.target is not None else "\u2013"
        rows.append(
            f"<tr><th scope=\"row\">{esc(m.name)}<br><code>{esc(m.metric_id)}</code></th><td>{esc(m.description)}"
            f"</td><td>{esc(m.unit or '')}</td><td>{esc(POLARITY_TEXT.get(m.polarity or '', m.polarity or ''))}</td>"
            f"<td>{esc(m.method or '')}</td><td>{esc(humanise(m.grain) if m.grain else '')}</td>"
            f"<td>{esc(target)}</td></tr>")
    methods = []
    for name, label in (("significance_method", "Significance"), ("ci_method", "Confidence intervals"),
                        ("funnel_method", "Funnel limits"), ("spc_method", "SPC"),
                        ("trend_method", "Recent trend")):
        values = sorted({v for v in t[name][idx] if v})
        for v in values:
            methods.append(f"<li><strong>{esc(label)}:</strong> {esc(v)}</li>")
    absent = (f"<li>Optional columns absent from this benchmark table (their parts of the pack are left out): "
              f"{esc(', '.join(missing))}.</li>" if missing else "")
    return (
        '<section id="definitions"><h2>Definitions and caveats</h2>'
        '<h3>Metrics</h3><div class="table-wrap"><table class="defs"><thead><tr><th scope="col">Metric</th>'
        '<th scope="col">Definition</th><th scope="col">Unit</th><th scope="col">Polarity</th>'
        '<th scope="col">Method</th><th scope="col">Period</th><th scope="col">Target</th></tr></thead><tbody>'
        + "".join(rows) + "</tbody></table></div>"
        + ("<h3>Methods (as recorded in the benchmark table)</h3><ul>" + "".join(methods) + "</ul>" if methods else "")
        + "<h3>Caveats</h3><ul>"
        "<li><strong>Comparators.</strong> Network: the network's member trusts. Peer group: the trust's "
        "national benchmarking group (e.g. acute, mental health). England: every trust publishing the metric. "
        "Proportions and rates are compared with the pooled value (sum of numerators over sum of "
        "denominators); other metrics with the median.</li>"
        "<li><strong>Suppression.</strong> Cells withheld by the publisher or by disclosure control are shown "
        "as <em>Suppressed</em>: never printed, plotted, ranked or used in a comparator's statistics.</li>"
        "<li><strong>Significance</strong> is statistical, not clinical: a large trust can differ "
        "significantly by a small amount, and a small trust can differ a lot without significance. "
        "Funnel limits widen for small trusts for the same reason; when trusts vary more than chance allows "
        "(overdispersion), the adjusted limits are the fairer guide.</li>"
        "<li><strong>SPC.</strong> Process limits need enough points (see the SPC method); shorter series are "
        "run charts without limits or icons. Special cause means a signal worth investigating, not a verdict. "
        "Assurance icons need a target in the metric catalogue.</li>"
        "<li><strong>Recent trend</strong> uses the last five points and is 'could not be calculated' for "
        "metrics without confidence intervals.</li>"
        "<li><strong>Associations</strong> between culture and outcomes are correlations across trusts; they do "
        "not show that changing one would change the other, and say nothing about one trust alone.</li>"
        "<li><strong>Charts per page.</strong> Funnel plots and SPC charts are drawn for up to "
        f"{CHARTS_PER_DOMAIN} headline metrics per domain (metrics with a polarity first, then those flagged "
        f"as significantly different or showing special cause), at most {MAX_FUNNELS} funnels and "
        f"{MAX_SPC_CHARTS} SPC charts; the headline table and spine chart cover every metric.</li>"
        + absent + "</ul></section>"
    )


CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1a1a1a;
  margin: 0; background: #ffffff; line-height: 1.4; font-size: 15px; }
main { max-width: 1180px; margin: 0 auto; padding: 0 20px 40px; }
header.pack { background: #003087; color: #ffffff; padding: 18px 20px; }
header.pack .inner { max-width: 1180px; margin: 0 auto; }
header.pack h1 { margin: 0 0 4px; font-size: 26px; }
header.pack p { margin: 2px 0; }
.banner { background: #ffd60a; color: #1a1a1a; font-weight: 700; text-align: center; padding: 8px 12px;
  border-bottom: 3px solid #1a1a1a; letter-spacing: .02em; }
nav.toc { margin: 14px 0; font-size: 14px; }
nav.toc a { margin-right: 14px; color: #005eb8; }
h2 { border-bottom: 2px solid #005eb8; padding-bottom: 4px; margin-top: 34px; font-size: 21px; }
h3 { font-size: 15px; margin: 8px 0 6px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th, td { border-bottom: 1px solid #d9d9d9; padding: 5px 7px; text-align: left; vertical-align: top; }
thead th { background: #f0f4f5; border-bottom: 2px solid #8c8c8c; }
tr.domain th { background: #e8edee; font-size: 13px; text-transform: none; padding-top: 8px; }
th.metric { font-weight: 600; max-width: 300px; }
.pol { display: block; font-weight: 400; font-size: 11.5px; color: #595959; }
td.num { white-space: nowrap; }
.ci { display: block; font-size: 11.5px; color: #595959; }
.supp { font-style: italic; color: #595959; }
.cv { display: block; font-size: 11.5px; color: #404040; margin-top: 2px; }
.sig { display: inline-block; min-width: 70px; white-space: nowrap; text-align: center; border-radius: 3px; padding: 1px 6px;
  font-size: 12.5px; font-weight: 600; border: 1px solid transparent;
  -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.sig-best { background: #00441b; color: #ffffff; }
.sig-better { background: #1b7837; color: #ffffff; }
.sig-similar { background: #e3e3e3; color: #1a1a1a; border-color: #b3b3b3; }
.sig-worse { background: #b2182b; color: #ffffff; }
.sig-worst { background: #67001f; color: #ffffff; }
.sig-higher { background: #2166ac; color: #ffffff; }
.sig-lower { background: #bcd7ea; color: #1a1a1a; border-color: #4a7fae; }
.sig-not-compared { background: #ffffff; color: #4d4d4d; border: 1px dashed #8c8c8c; font-weight: 400; }
td.icons svg { vertical-align: middle; margin-right: 2px; }
.key { display: flex; flex-wrap: wrap; gap: 6px 24px; background: #f7f9fa; border: 1px solid #d9d9d9;
  padding: 8px 12px; margin: 10px 0 14px; font-size: 13px; }
.key .chips .sig { margin: 0 4px 4px 0; }
.key > div { flex: 1 1 240px; }
.key > div.wide { flex: 2 1 440px; }
.key h3 { margin-top: 2px; }
.key p { margin: 4px 0; }
ul.badges { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 0 12px; }
ul.badges li { margin: 0 0 2px; }
.small, .note { font-size: 13px; color: #404040; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 16px; }
figure { margin: 12px 0; break-inside: avoid; page-break-inside: avoid; }
figure svg.chart { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 13px; color: #333333; margin-top: 4px; }
figcaption .sig { min-width: 0; font-size: 11.5px; }
.chart-fig { border: 1px solid #e0e0e0; padding: 8px; }
.badge-row svg { margin-right: 10px; }
table.defs td, table.defs th { font-size: 12.5px; }
code { font-size: 11.5px; color: #404040; }
footer.pack { border-top: 1px solid #d9d9d9; margin-top: 30px; padding-top: 10px; font-size: 12.5px; color: #404040; }
ul.trusts li { margin: 6px 0; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  header.pack { background: none; color: #1a1a1a; border-bottom: 2px solid #1a1a1a; padding: 0 0 8px; }
  .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .charts { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 12px; }
  .chart-fig { border: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; margin-top: 18px; }
  section#funnels, section#spc { break-before: page; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )


def _reference_text(reference: dict[str, Any]) -> str:
    parts = []
    for key, label in (("release_id", "Release"), ("created_at", "created"), ("code_version", "code version")):
        if reference.get(key):
            parts.append(f"{label} {reference[key]}")
    return "; ".join(parts) or "unreleased build"


def _banner(reference: dict[str, Any]) -> str:
    return (f'<div class="banner" role="note" aria-label="Synthetic data">{esc(SYNTHETIC_BANNER)}</div>'
            if reference.get("synthetic") else "")


def trust_page(t: Table, code: str, idx: np.ndarray, members: set[str], network_name: str,
               reference: dict[str, Any], associations: pd.DataFrame | None, missing: list[str]
               ) -> tuple[str, dict[str, int]]:
    page = Page(code)
    metrics = trust_metrics(t, idx)
    name = next((n for n in t["org_name"][idx] if n), code)
    funnel_metrics = headline_metrics(metrics, t, lambda m: _has_funnel(t, m), MAX_FUNNELS)
    funnels = [f for f in (funnel_figure(t, m, members, page, name) for m in funnel_metrics) if f]
    spc_metrics = headline_metrics(
        metrics, t, lambda m: int(np.count_nonzero(~np.isnan(t["value"][m.series]))) >= 2, MAX_SPC_CHARTS)
    spcs = [f for f in (spc_figure(t, m, page) for m in spc_metrics) if f]
    names = {m.metric_id: m.name for m in metrics}
    for metric_id, entry in _catalogue().items():
        names.setdefault(metric_id, entry.get("metric_name") or metric_id)
    latest = max((m.latest for m in metrics), default=None)
    banner = _banner(reference)
    header = (
        f'{banner}<header class="pack"><div class="inner"><p>Benchmark pack \u00b7 {esc(network_name)}</p>'
        f"<h1>{esc(name)} <span>({esc(code)})</span></h1>"
        f"<p>{len(metrics)} metrics; latest period "
        f"{esc(pd.Timestamp(latest).strftime('%B %Y') if latest is not None else 'none')}. "
        f"{esc(_reference_text(reference))}.</p></div></header>"
    )
    toc = ('<nav class="toc" aria-label="Contents"><a href="#headline">Headline table</a><a href="#spine">Spine '
           'chart</a><a href="#funnels">Funnel plots</a><a href="#spc">SPC charts</a><a href="#associations">'
           'Associations</a><a href="#definitions">Definitions and caveats</a></nav>')
    funnel_html = (
        '<section id="funnels"><h2>Funnel plots</h2><p class="small">Headline metrics per domain with counts. '
        "Each trust's value against its size, with the comparator value (solid line) and 95% / 99.8% limits; "
        "points outside the limits differ by more than chance would explain.</p>"
        + (f'<div class="charts">{"".join(funnels)}</div>' if funnels else
           '<p class="note">No metric of this trust has funnel values (numerators and denominators) at its '
           "latest period.</p>") + "</section>")
    spc_html = (
        '<section id="spc"><h2>SPC charts</h2><p class="small">Headline metrics per domain: the trust\'s '
        "series (XmR, Making Data Count). Special-cause points are coloured and shaped by class; the badges "
        "describe the latest point.</p>"
        + (f'<div class="charts">{"".join(spcs)}</div>' if spcs else
           '<p class="note">No metric of this trust has at least two published points.</p>') + "</section>")
    body = (
        header + "<main>" + toc
        + headline_section(t, metrics, page) + spine_section(t, metrics, page) + funnel_html + spc_html
        + association_section(associations, names, page) + definitions_section(t, metrics, idx, missing)
        + f'<footer class="pack"><p>{esc(name)} ({esc(code)}) \u00b7 {esc(network_name)} \u00b7 '
        f"{esc(_reference_text(reference))}</p>"
        + (f"<p><strong>{esc(SYNTHETIC_BANNER)}</strong></p>" if reference.get("synthetic") else "")
        + "</footer></main>"
    )
    counts = {"metrics": len(metrics), "funnels": len(funnels), "spc": len(spcs),
              "worse": sum(t["significance"][m.rows["network"]] in ("Worse", "Worst")
                           for m in metrics if "network" in m.rows),
              "better": sum(t["significance"][m.rows["network"]] in ("Better", "Best")
                            for m in metrics if "network" in m.rows)}
    return _document(f"Benchmark pack: {name} ({code})", body), counts


def index_page(entries: list[tuple[str, str, dict[str, int] | None]], network_name: str,
               reference: dict[str, Any]) -> str:
    items = []
    for code, name, counts in entries:
        if counts is None:
            items.append(f"<li>{esc(name)} ({esc(code)}): no benchmark rows in this release, no pack.</li>")
        else:
            items.append(
                f'<li><a href="{esc(code)}.html">{esc(name)} ({esc(code)})</a> \u2013 {counts["metrics"]} metrics; '
                f'against the network {counts["better"]} better, {counts["worse"]} worse.</li>')
    body = (
        _banner(reference)
        + f'<header class="pack"><div class="inner"><p>Benchmark packs</p><h1>{esc(network_name)}</h1>'
        f"<p>{esc(_reference_text(reference))}.</p></div></header><main><h2>Trusts</h2>"
        f'<ul class="trusts">{"".join(items)}</ul></main>'
    )
    return _document(f"Benchmark packs: {network_name}", body)


# --- entry points -------------------------------------------------------------------------------

def network_members(settings: Any, t: Table) -> list[str]:
    network = getattr(settings, "network", None)
    members = [str(code) for code in (getattr(network, "members", None) or ())]
    if not members:
        members = sorted({c for c, k in zip(t["org_code"], t["comparator"], strict=True) if k == "network" and c})
    bad = [code for code in members if not valid_ods(code)]
    if bad:
        raise ReleaseError(f"refusing to write benchmark packs for {bad!r}: not ODS organisation codes")
    return list(dict.fromkeys(members))


def write_packs(settings: Settings, table: pd.DataFrame, folder: Path, manifest_reference: dict,
                progress: Progress = print, associations: pd.DataFrame | None = None,
                pdf: bool = False) -> list[Path]:
    """Write ``packs/<ODS code>.html`` for every network trust with rows, and ``packs/index.html``.

    ``manifest_reference`` gives ``release_id``, ``created_at``, ``code_version`` and ``synthetic``
    (a synthetic release gets the SYNTHETIC DATA banner). ``associations`` (optional) has
    ``survey_year, scope, culture_metric_id, outcome_metric_id, rho, ci_lower, ci_upper, n`` (the
    mart's ``spearman_rho`` / ``n_trusts`` / ``scope_name`` / ``null_reason`` are read too).
    With ``pdf=True`` each page is also printed to ``<code>.pdf`` by headless Chromium when it
    is installed (skipped with a progress line otherwise). Returns the paths written.
    """
    started = time.perf_counter()
    reference = dict(manifest_reference or {})
    t = Table(table)
    members = network_members(settings, t)
    network = getattr(settings, "network", None)
    network_name = getattr(network, "name", None) or next(
        (g for g, k in zip(t["comparator_group"], t["comparator"], strict=True) if k == "network" and g), "Network")
    optional = [name for name in (*NUMERIC, *TEXT, *DATES, *FLAGS)
                if name not in REQUIRED and name not in ("n", "comparator_n", "domain", "domain_type")]
    missing = sorted({name for name in optional if not t.has(name)})
    if not t.has("comparator_n") and not t.has("n"):
        missing.append("comparator_n")
    out = Path(folder) / PACK_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    entries: list[tuple[str, str, dict[str, int] | None]] = []
    member_set = set(members)
    pages: list[tuple[int, str, Path]] = []
    for number, code in enumerate(members, start=1):
        began = time.perf_counter()
        idx = t.org_rows(code)
        name = next((n for n in t["org_name"][idx] if n), code)
        if idx.size == 0:
            progress(f"[{number}/{len(members)}] {code}: no benchmark rows, no pack")
            entries.append((code, name, None))
            continue
        document, counts = trust_page(t, code, idx, member_set, network_name, reference, associations, missing)
        path = out / f"{code}.html"  # code matched ODS_CODE_PATTERN in full
        path.write_text(document, encoding="utf-8")
        pages.append((number, code, path))
        entries.append((code, name, counts))
        progress(f"[{number}/{len(members)}] {code} {name}: {counts['metrics']} metrics, {counts['funnels']} "
                 f"funnel and {counts['spc']} SPC charts ({time.perf_counter() - began:.2f} s)")
    del t  # a copy of the national table: not held while the browser prints
    printed = print_pdfs([path for _, _, path in pages], progress) if pdf else {}
    for number, code, path in pages:
        written.append(path)
        if printed.get(path):
            written.append(printed[path])
        elif pdf:
            progress(f"[{number}/{len(members)}] {code}: PDF not written (Chromium unavailable or failed)")
    index = out / "index.html"
    index.write_text(index_page(entries, network_name, reference), encoding="utf-8")
    written.append(index)
    progress(f"benchmark packs: {len(written) - 1} file(s) and the index in {out} "
             f"({time.perf_counter() - started:.1f} s)")
    return written

