"""Benchmark packs: one self-contained HTML page per network trust, from a hand-built benchmark table.

The table (:func:`benchmark_table`) has the columns of ``pipelines/benchmark/schema.py`` for a small
NHS: three network trusts and seven others in two peer groups, four catalogue metrics (a rate, a
proportion, a score and a count), 18 months / 3 survey years, the network / peer group / England
comparators, one suppressed cell that (wrongly) still carries a value, and a planted special cause
(a step up in RA1's sickness absence over the last eight months).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from pipelines.publish.pack import write_packs
from pipelines.publish.release import ReleaseError
from pipelines.stats import poisson_funnel_limits, proportion_funnel_limits
from pipelines.synthetic.world import SYNTHETIC_BANNER

NETWORK = ("RA1", "RB2", "RC3")
OTHERS = ("RD4", "RE5", "RF6", "RG7", "RH8", "RJ9", "RK1")
NAMES = {
    "RA1": "Alpha Hospitals NHS Foundation Trust", "RB2": "Beta Community Health NHS Trust",
    "RC3": "Gamma Mental Health NHS Trust", "RD4": "Delta NHS Trust", "RE5": "Epsilon NHS Trust",
    "RF6": "Zeta NHS Trust", "RG7": "Eta NHS Trust", "RH8": "Theta NHS Trust", "RJ9": "Iota NHS Trust",
    # a hostile name: must come out escaped, never as markup
    "RK1": '<script>alert("x")</script> Kappa & Co "NHS" Trust',
}
METRICS = {
    # metric_id: (name, unit, polarity, method, grain, target)
    "sickness_absence_rate": ("Sickness absence rate", "percent", "lower_is_better", "rate", "month", 4.0),
    "fft_inpatient_pct_positive": ("FFT Inpatient: percentage positive", "fraction", "higher_is_better",
                                   "proportion", "month", None),
    "ss_theme_engagement": ("Staff engagement theme", "score_0_10", "higher_is_better", "score", "survey_year",
                            None),
    "staff_in_post_fte": ("Staff in post FTE", "fte", "none", "distribution", "month", None),
}
MONTHS = pd.date_range("2023-10-01", periods=18, freq="MS")
SURVEY_YEARS = pd.to_datetime(["2022-09-01", "2023-09-01", "2024-09-01"])
LATEST_MONTH = MONTHS[-1]
SUPPRESSED = ("RB2", "fft_inpatient_pct_positive", LATEST_MONTH)
PLANTED_VALUE, PLANTED_NUMERATOR = 0.7777, 7777.0  # carried by the suppressed cell; must never print
SHIFT_MONTHS = 8
Z95, Z998 = 1.959963984540054, 3.090232306167813
REFERENCE = {"release_id": "20260301T120000Z", "created_at": "2026-03-01T12:00:00+00:00",
             "code_version": "0.1.0+test", "synthetic": True}


def settings(members=NETWORK, name="Test Valley Network"):
    return SimpleNamespace(network=SimpleNamespace(name=name, members=tuple(members)))


# --- the hand-built benchmark table -------------------------------------------------------------

def cells(seed: int = 11) -> pd.DataFrame:
    """One row per trust x metric x period: the facts the table is built from."""
    rng = np.random.default_rng(seed)
    orgs = NETWORK + OTHERS
    rows = []
    for metric_id, (name, unit, polarity, method, grain, target) in METRICS.items():
        periods = SURVEY_YEARS if grain == "survey_year" else MONTHS
        for k, code in enumerate(orgs):
            size = 30_000 + 6_000 * k
            for p, period in enumerate(periods):
                numerator = denominator = np.nan
                if method == "rate":
                    denominator = float(size)
                    rate = 0.045 + (0.012 if code == "RA1" and p >= len(periods) - SHIFT_MONTHS else 0.0)
                    numerator = float(rng.poisson(denominator * rate))
                    value = numerator / denominator * 100
                elif method == "proportion":
                    denominator = float(rng.integers(200, 1500))
                    numerator = float(rng.binomial(int(denominator), 0.95 if code == "RC3" else 0.9))
                    value = numerator / denominator
                elif method == "score":
                    value = round(float(rng.normal(6.8, 0.3)), 2)
                else:
                    value = float(rng.integers(1_500, 9_000))
                rows.append({
                    "org_code": code, "org_name": NAMES[code], "in_network": code in NETWORK,
                    "peer_group": "acute" if k % 2 == 0 else "mental_health", "metric_id": metric_id,
                    "metric_name": name, "unit": unit, "polarity": polarity, "benchmark_method": method,
                    "target": target, "grain": grain, "period_start": period,
                    "period_end": (period + pd.DateOffset(years=1) - pd.Timedelta(days=1) if grain == "survey_year"
                                   else period + pd.offsets.MonthEnd(0)),
                    "value": value, "numerator": numerator, "denominator": denominator, "suppressed": False,
                })
    frame = pd.DataFrame(rows)
    hit = ((frame["org_code"] == SUPPRESSED[0]) & (frame["metric_id"] == SUPPRESSED[1])
           & (frame["period_start"] == SUPPRESSED[2]))
    frame.loc[hit, "suppressed"] = True
    return frame


def _significance(lo, hi, lo998, hi998, bench, polarity) -> str:
    if any(pd.isna(x) for x in (lo, hi, bench)):
        return "Not compared"
    side = 1 if lo > bench else -1 if hi < bench else 0
    if side == 0:
        return "Similar"
    if polarity == "none":
        return "Higher" if side > 0 else "Lower"
    good = (side > 0) == (polarity == "higher_is_better")
    extreme = lo998 > bench or hi998 < bench
    return ("Best" if extreme else "Better") if good else ("Worst" if extreme else "Worse")


def benchmark_table(carry_suppressed_value: bool = True) -> pd.DataFrame:
    """The benchmark table (schema columns) computed by hand from :func:`cells`."""
    facts = cells().sort_values(["org_code", "metric_id", "period_start"]).reset_index(drop=True)
    usable = ~facts["suppressed"]
    # intervals on the trust's own cell
    method = facts["benchmark_method"]
    scale = np.where(facts["unit"] == "percent", 100.0, 1.0)
    x, n = facts["numerator"], facts["denominator"]
    p = x / n
    for z, (lo_name, hi_name) in ((Z95, ("ci_lower", "ci_upper")), (Z998, ("ci_lower_998", "ci_upper_998"))):
        half = np.where(method == "proportion", z * np.sqrt(p * (1 - p) / n),
                        np.where(method == "rate", z * np.sqrt(x) / n, np.nan)) * scale
        centre = np.where(method == "proportion", p, x / n) * scale
        facts[lo_name] = np.where(usable, centre - half, np.nan)
        facts[hi_name] = np.where(usable, centre + half, np.nan)

    # SPC per series: mean, limits, the planted special cause
    series = facts.groupby(["org_code", "metric_id"], sort=False)
    facts["spc_points"] = series["value"].transform(lambda s: s[usable.loc[s.index]].notna().sum())
    values = facts["value"].where(usable)
    facts["spc_mean"] = values.groupby([facts["org_code"], facts["metric_id"]]).transform("mean")
    mr = values.groupby([facts["org_code"], facts["metric_id"]]).transform(lambda s: s.diff().abs().mean())
    facts["spc_limits_available"] = facts["spc_points"] >= 15
    facts["spc_lpl"] = np.where(facts["spc_limits_available"], facts["spc_mean"] - 2.66 * mr, np.nan)
    facts["spc_upl"] = np.where(facts["spc_limits_available"], facts["spc_mean"] + 2.66 * mr, np.nan)
    position = series.cumcount()
    length = series["period_start"].transform("size")
    facts["is_latest_period"] = position == length - 1
    planted = ((facts["org_code"] == "RA1") & (facts["metric_id"] == "sickness_absence_rate")
               & (position >= length - SHIFT_MONTHS))
    facts["spc_point_variation"] = np.where(planted, "concern_high", np.where(usable, "common_cause", None))
    facts["spc_point_rules"] = np.where(planted, "shift", None)
    ra1_sickness = (facts["org_code"] == "RA1") & (facts["metric_id"] == "sickness_absence_rate")
    facts["variation_icon"] = np.where(ra1_sickness, "concern_high", "common_cause")
    facts["spc_latest_rules"] = np.where(ra1_sickness, "shift", None)
    facts["assurance_icon"] = np.where(facts["target"].notna(),
                                       np.where(ra1_sickness, "consistently_failing", "hit_or_miss"), None)
    facts["spc_reason"] = np.where(facts["spc_limits_available"], None, "run chart: 3 of the 15 points needed")
    facts["assurance_reason"] = np.where(facts["target"].notna(), None, "no target in the metric catalogue")
    counted = method.isin(["proportion", "rate"])
    facts["trend_direction"] = np.where(counted, "no significant change", "could not be calculated")
    facts["trend_reason"] = np.where(counted, None, "no confidence interval")

    # comparator rows
    parts = []
    for comparator in ("network", "peer_group", "england"):
        part = facts[facts["in_network"]] if comparator == "network" else facts
        part = part.assign(comparator=comparator, comparator_group={
            "network": "Test Valley Network", "england": "england"}.get(comparator, part["peer_group"]))
        parts.append(part)
    rows = pd.concat(parts, ignore_index=True)
    usable_rows = ~rows["suppressed"] & rows["value"].notna()
    keys = ["metric_id", "period_start", "comparator", "comparator_group"]
    stats = []
    for key, group in rows[usable_rows].groupby(keys):
        v = group["value"].to_numpy()
        higher = group["polarity"].iloc[0] != "lower_is_better"
        m = group["benchmark_method"].iloc[0]
        if m in ("proportion", "rate"):
            pooled = group["numerator"].sum() / group["denominator"].sum()
            comparator_value = pooled * (100.0 if group["unit"].iloc[0] == "percent" else 1.0)
        else:
            pooled, comparator_value = np.nan, float(np.median(v))
        stats.append(dict(zip(keys, key, strict=True), comparator_value=comparator_value, pooled=pooled,
                          median=float(np.median(v)), q1=float(np.percentile(v, 25)), q3=float(np.percentile(v, 75)),
                          best=float(v.max() if higher else v.min()), worst=float(v.min() if higher else v.max()),
                          comparator_n=len(v)))
    rows = rows.merge(pd.DataFrame(stats), on=keys, how="left")
    ordered = rows["value"].where(usable_rows) * np.where(rows["polarity"] == "lower_is_better", 1, -1)
    rows["rank"] = ordered.groupby([rows[k] for k in keys]).rank(method="min")
    rows["percentile"] = 100 * (rows["comparator_n"] - rows["rank"]) / (rows["comparator_n"] - 1)
    rows["significance"] = [
        _significance(*a) for a in zip(rows["ci_lower"], rows["ci_upper"], rows["ci_lower_998"],
                                       rows["ci_upper_998"], rows["comparator_value"], rows["polarity"], strict=True)]
    rows["significance_reason"] = np.where(rows["significance"] == "Not compared", "no confidence interval", None)

    # funnel limits at each row's size
    prop = (rows["benchmark_method"] == "proportion") & usable_rows
    rate = (rows["benchmark_method"] == "rate") & usable_rows
    size = np.where(prop, rows["denominator"], np.where(rate, rows["denominator"] * rows["pooled"], np.nan))
    rows["funnel_size"] = size
    rows["funnel_ratio"] = np.where(rate, rows["numerator"] / size, np.nan)
    for level, name in ((0.95, "95"), (0.998, "998")):
        low, high = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
        for i in np.flatnonzero(prop):
            low[i], high[i] = proportion_funnel_limits(size[i], rows["pooled"].iloc[i], level)
        for i in np.flatnonzero(rate):
            lo, hi = poisson_funnel_limits(size[i], level)
            low[i], high[i] = lo * rows["comparator_value"].iloc[i], hi * rows["comparator_value"].iloc[i]
        rows[f"funnel_lower_{name}"], rows[f"funnel_upper_{name}"] = low, high
    rows["funnel_tau2"] = np.where(prop | rate, 0.0, np.nan)
    position = np.where(prop, rows["value"], np.where(rate, rows["value"], np.nan))
    rows["funnel_flag"] = np.select(
        [np.isnan(rows["funnel_upper_95"]), position > rows["funnel_upper_998"], position > rows["funnel_upper_95"],
         position < rows["funnel_lower_998"], position < rows["funnel_lower_95"]],
        [None, "above 99.8% limit", "above 95% limit", "below 99.8% limit", "below 95% limit"],
        default="within 95% limits")
    rows["significance_method"] = "hand-built: comparator value inside / outside the 95% and 99.8% intervals"
    rows["spc_method"] = "hand-built XmR; min_points=15"
    rows = rows.drop(columns=["pooled", "in_network", "peer_group"])
    rows = rows.sort_values(["metric_id", "period_start", "comparator", "org_code"]).reset_index(drop=True)
    if carry_suppressed_value:  # the table should not, but the pack must not trust it
        hit = rows["suppressed"]
        rows.loc[hit, "value"] = PLANTED_VALUE
        rows.loc[hit, "numerator"] = PLANTED_NUMERATOR
        rows.loc[hit, ["ci_lower", "ci_upper"]] = [0.77, 0.79]
    else:
        rows.loc[rows["suppressed"], ["value", "numerator", "denominator", "ci_lower", "ci_upper", "rank",
                                      "percentile", "funnel_size"]] = np.nan
    return rows


def associations() -> pd.DataFrame:
    return pd.DataFrame({
        "survey_year": [2024, 2024, 2024, 2024, 2023],
        "scope": ["england", "network", "england", "england", "england"],
        "culture_metric_id": ["ss_theme_engagement"] * 5,
        "outcome_metric_id": ["sickness_absence_rate", "sickness_absence_rate", "fft_inpatient_pct_positive",
                              "turnover_leaver_rate", "sickness_absence_rate"],
        "rho": [-0.31, -0.52, 0.27, None, -0.2],
        "ci_lower": [-0.43, -0.93, 0.14, None, -0.3],
        "ci_upper": [-0.18, 0.45, 0.39, None, -0.1],
        "n": [203, 3, 198, 4, 201],
    })


# --- helpers ------------------------------------------------------------------------------------

NS = "{http://www.w3.org/2000/svg}"
SVG = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)
EXTERNAL = re.compile(r"""(?:src|href|xlink:href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def svgs(page: str) -> dict[str, list[ET.Element]]:
    """Every inline SVG parsed as XML (so each is well-formed), by its data-chart kind."""
    out: dict[str, list[ET.Element]] = {}
    for fragment in SVG.findall(page):
        element = ET.fromstring(fragment)
        out.setdefault(element.get("data-chart", "?"), []).append(element)
    return out


def drawn(element: ET.Element) -> int:
    shapes = ("circle", "line", "polyline", "polygon", "rect", "path", "text")
    return sum(1 for e in element.iter() if e.tag.rsplit("}", 1)[-1] in shapes)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return benchmark_table()


@pytest.fixture(scope="module")
def written(table, tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    lines: list[str] = []
    paths = write_packs(settings(), table, folder, REFERENCE, progress=lines.append, associations=associations())
    return folder, paths, lines


def page(written, code: str) -> str:
    return (written[0] / "packs" / f"{code}.html").read_text(encoding="utf-8")


# --- tests --------------------------------------------------------------------------------------

def test_one_page_per_network_trust_and_an_index(written):
    folder, paths, lines = written
    packs = folder / "packs"
    assert sorted(p.name for p in packs.iterdir()) == sorted([f"{c}.html" for c in NETWORK] + ["index.html"])
    assert sorted(paths) == sorted(packs.iterdir())
    index = (packs / "index.html").read_text(encoding="utf-8")
    for code in NETWORK:
        assert f'href="{code}.html"' in index and NAMES[code] in index
    # one progress line per trust (and a summary)
    assert [line.split()[0] for line in lines[:3]] == ["[1/3]", "[2/3]", "[3/3]"]
    assert all(code in line for code, line in zip(NETWORK, lines, strict=False))


@pytest.mark.parametrize("code", NETWORK)
def test_page_is_self_contained_and_names_the_trust(written, code):
    html = page(written, code)
    assert "<script" not in html.lower()  # no scripts at all, inline or external
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "@import" not in html and "url(http" not in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert NAMES[code] in html and f"({code})" in html
    assert "Test Valley Network" in html and REFERENCE["release_id"] in html


@pytest.mark.parametrize("code", NETWORK)
def test_headline_table_has_significance_text_labels(written, code):
    html = page(written, code)
    table = html[html.index('<table class="headline">'):html.index("</table>", html.index('<table class="headline">'))]
    labels = re.findall(r'<span class="sig sig-[a-z-]+"[^>]*>([^<]+)</span>', table)
    assert len(labels) == len(METRICS) * 3  # every metric against every comparator
    assert set(labels) <= {"Best", "Better", "Similar", "Worse", "Worst", "Higher", "Lower", "Not compared"}
    for name, *_ in METRICS.values():
        assert f">{name}<" in table.replace("&amp;", "&")
    assert "Not compared" in labels  # the score and the count have no interval


def test_significance_labels_follow_the_table(written, table):
    """RA1's sickness absence (planted step up, lower is better) is Worse or Worst against England."""
    row = table[(table["org_code"] == "RA1") & (table["metric_id"] == "sickness_absence_rate")
                & (table["period_start"] == LATEST_MONTH) & (table["comparator"] == "england")]
    label = row["significance"].item()
    assert label in ("Worse", "Worst")
    html = page(written, "RA1")
    start = html.index(">Sickness absence rate<")
    assert f">{label}</span>" in html[start:html.index("</tr>", start)]


@pytest.mark.parametrize("code", NETWORK)
def test_every_chart_type_draws(written, code):
    charts = svgs(page(written, code))
    for kind in ("spine", "funnel", "spc", "forest", "badge"):
        assert charts.get(kind), f"{code}: no {kind} chart"
        minimum = 2 if kind == "badge" else 10
        assert all(drawn(svg) >= minimum for svg in charts[kind]), f"{code}: an empty {kind} chart"
    for svg in (s for kind in ("spine", "funnel", "spc", "forest") for s in charts[kind]):
        ns = "{http://www.w3.org/2000/svg}"
        assert svg.find(f"{ns}title").text and svg.find(f"{ns}desc").text
        assert svg.get("role") == "img" and svg.get("aria-labelledby")
    # funnels for the metrics with counts, SPC for the monthly series and the survey run chart
    assert len(charts["funnel"]) == 2 and len(charts["spc"]) == 4


def test_chart_ids_are_unique_within_a_page(written):
    html = page(written, "RA1")
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_planted_special_cause_is_shown(written):
    html = page(written, "RA1")
    assert "Special cause: concern (high)" in html  # the labelled variation badge
    assert "Assurance: consistently failing the target" in html
    spc = next(s for s in svgs(html)["spc"] if "Sickness absence rate" in s.find("{http://www.w3.org/2000/svg}title").text)
    tips = [e.text for e in spc.iter("{http://www.w3.org/2000/svg}title")]
    assert sum("concern high" in (t or "") for t in tips) == SHIFT_MONTHS
    assert "Special cause: concern (high)" not in page(written, "RC3").split('<table class="headline">')[1]


def test_synthetic_banner_only_when_synthetic(table, tmp_path):
    html = page(written_with(table, tmp_path / "a", {**REFERENCE, "synthetic": True}), "RA1")
    assert SYNTHETIC_BANNER in html and "SYNTHETIC DATA" in html
    index = (tmp_path / "a" / "packs" / "index.html").read_text(encoding="utf-8")
    assert SYNTHETIC_BANNER in index
    real = page(written_with(table, tmp_path / "b", {**REFERENCE, "synthetic": False}), "RA1")
    assert "SYNTHETIC DATA" not in real


def written_with(table, folder, reference, **kwargs):
    write_packs(settings(), table, folder, reference, progress=lambda _: None, **kwargs)
    return (folder, None, None)


def printed(html: str) -> str:
    """What a reader or a screen reader gets: text content, titles and aria-labels (not coordinates)."""
    attributes = re.findall(r'\s(?:title|aria-label|alt)="([^"]*)"', html)
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body) + " " + " ".join(attributes)


def test_suppressed_value_is_never_printed(written):
    html = page(written, SUPPRESSED[0])
    start = html.index(">FFT Inpatient: percentage positive<")
    row = html[start:html.index("</tr>", start)]
    assert "Suppressed" in row
    for code in NETWORK:  # nor on any trust's funnel, spine or SPC chart
        text = printed(page(written, code))
        for planted in ("77.8", "77.77", "0.7777", "7777", "7,777", "79.0%", "77.0%"):
            assert planted not in text, (code, planted)
    # RB2's FFT series: the latest month is a gap, and the funnel says the value is suppressed
    spc = next(s for s in svgs(html)["spc"] if "FFT Inpatient" in s.find(f"{NS}title").text)
    labels = [e.get("aria-label") for e in spc.iter(f"{NS}text") if e.get("aria-label")]
    assert labels == ["Mar 25: suppressed or not published"]
    funnel = next(s for s in svgs(html)["funnel"] if "FFT Inpatient" in s.find(f"{NS}title").text)
    assert "suppressed" in funnel.find(f"{NS}desc").text
    assert not any("(RB2)" in (e.text or "") for e in funnel.iter(f"{NS}title"))


def test_hostile_text_is_escaped(written):
    for code in NETWORK:
        html = page(written, code)
        assert "<script" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Kappa &amp; Co" in html  # a funnel tooltip


def test_associations_forest_plot(written):
    html = page(written, "RB2")
    forest = svgs(html)["forest"][0]
    texts = " ".join(e.text or "" for e in forest.iter("{http://www.w3.org/2000/svg}text"))
    assert "Staff engagement theme \u2192 Sickness absence rate (England)" in texts
    assert "-0.31 [-0.43, -0.18], n=203" in texts
    assert "not estimated" in texts  # rho missing for the turnover pair
    assert "2023" not in forest.find("{http://www.w3.org/2000/svg}title").text  # latest survey year only


def test_without_associations_or_optional_columns(table, tmp_path):
    optional = [c for c in table.columns if c.startswith(("funnel_", "spc_", "trend_", "variation", "assurance"))
                or c in ("is_latest_period", "q1", "q3", "best", "worst", "median", "ci_lower_998", "ci_upper_998")]
    slim = table.drop(columns=optional)
    paths = write_packs(settings(), slim, tmp_path, {"release_id": "r1"}, progress=lambda _: None)
    assert len(paths) == len(NETWORK) + 1
    html = (tmp_path / "packs" / "RA1.html").read_text(encoding="utf-8")
    charts = svgs(html)
    assert "funnel" not in charts and "spine" not in charts and "forest" not in charts
    assert charts["spc"]  # the series itself is in the table; no limits or icons
    assert "No culture-outcome association table" in html
    assert "funnel_size" in html  # listed as absent
    assert "77.8" not in (tmp_path / "packs" / "RB2.html").read_text(encoding="utf-8")


def test_required_columns(table, tmp_path):
    with pytest.raises(ValueError, match="comparator"):
        write_packs(settings(), table.drop(columns=["comparator"]), tmp_path, {}, progress=lambda _: None)


@pytest.mark.parametrize("bad", ["../RA1", "RA1\n", "ra1", "RA1.html", "R/A1", ""])
def test_file_names_only_from_ods_codes(table, tmp_path, bad):
    with pytest.raises(ReleaseError, match="ODS"):
        write_packs(settings(members=("RA1", bad)), table, tmp_path, {}, progress=lambda _: None)
    assert not (tmp_path / "packs").exists() or not any((tmp_path / "packs").iterdir())


def test_member_without_rows_is_listed_not_written(table, tmp_path):
    lines: list[str] = []
    paths = write_packs(settings(members=("RA1", "RZZ")), table, tmp_path, {}, progress=lines.append)
    assert [p.name for p in paths] == ["RA1.html", "index.html"]
    assert any("RZZ: no benchmark rows" in line for line in lines)
    assert "RZZ" in (tmp_path / "packs" / "index.html").read_text(encoding="utf-8")


def test_members_default_to_the_network_comparator(table, tmp_path):
    paths = write_packs(SimpleNamespace(), table, tmp_path, {}, progress=lambda _: None)
    assert sorted(p.stem for p in paths) == sorted([*NETWORK, "index"])
    assert "Test Valley Network" in (tmp_path / "packs" / "RA1.html").read_text(encoding="utf-8")


def test_table_without_suppressed_values_and_pandas_nullable_dtypes(tmp_path):
    from pipelines.benchmark.schema import COLUMN_NAMES, cast_to_schema

    rows = benchmark_table(carry_suppressed_value=False)
    for name in COLUMN_NAMES:
        if name not in rows.columns:
            rows[name] = None
    typed = cast_to_schema(rows)  # the contract's dtypes: Float64, Int64, boolean, object text
    write_packs(settings(), typed, tmp_path, REFERENCE, progress=lambda _: None, associations=associations())
    html = (tmp_path / "packs" / "RA1.html").read_text(encoding="utf-8")
    assert all(svgs(html).get(kind) for kind in ("spine", "funnel", "spc", "forest", "badge"))


def test_packs_from_the_computed_benchmark_table(tmp_path):
    """The real producer's output renders too, and its SPC finds the planted shift."""
    from pipelines.benchmark.tables import compute_benchmark_table

    facts = cells()
    facts.loc[facts["suppressed"], ["value", "numerator", "denominator"]] = np.nan
    computed = compute_benchmark_table(facts)
    lines: list[str] = []
    write_packs(settings(), computed, tmp_path, REFERENCE, progress=lines.append, associations=associations())
    for code in NETWORK:
        html = (tmp_path / "packs" / f"{code}.html").read_text(encoding="utf-8")
        charts = svgs(html)
        assert all(charts.get(kind) for kind in ("spine", "funnel", "spc", "forest")), code
        assert "<script" not in html and not EXTERNAL.search(html)
    ra1 = (tmp_path / "packs" / "RA1.html").read_text(encoding="utf-8")
    assert "Special cause: concern (high)" in ra1
    assert "Limits joined from the table" not in ra1  # the recomputed funnel curves match the table's limits


def test_six_trusts_forty_metrics_render_quickly(tmp_path):
    """~6 trusts x ~40 metrics x 24 months, 60 trusts in England: well under a minute (here < 20 s)."""
    rng = np.random.default_rng(3)
    orgs = [f"R{i:02d}" for i in range(60)]
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    frames = []
    for m in range(40):
        kind = ("proportion", "rate", "score", "distribution")[m % 4]
        o, p = np.meshgrid(np.arange(len(orgs)), np.arange(len(months)), indexing="ij")
        o, p = o.ravel(), p.ravel()
        den = rng.integers(200, 2000, o.size).astype(float) if kind in ("proportion", "rate") else np.nan
        num = rng.binomial(den.astype(int), 0.9).astype(float) if kind in ("proportion", "rate") else np.nan
        value = num / den if kind in ("proportion", "rate") else rng.normal(6, 1, o.size)
        frames.append(pd.DataFrame({
            "org_code": np.array(orgs)[o], "org_name": [f"Trust {c}" for c in np.array(orgs)[o]],
            "in_network": o < 6, "peer_group": np.where(o % 2 == 0, "acute", "mental_health"),
            "metric_id": f"metric_{m:02d}", "metric_name": f"Metric {m}", "unit": "fraction",
            "polarity": "higher_is_better", "benchmark_method": kind, "grain": "month",
            "period_start": months[p], "value": value, "numerator": num, "denominator": den, "suppressed": False}))
    from pipelines.benchmark.tables import compute_benchmark_table

    big = compute_benchmark_table(pd.concat(frames, ignore_index=True))
    lines: list[str] = []
    started = time.perf_counter()
    paths = write_packs(settings(members=orgs[:6]), big, tmp_path, {}, progress=lines.append)
    elapsed = time.perf_counter() - started
    assert len(paths) == 7 and elapsed < 20, elapsed
    assert sum(line.startswith("[") for line in lines) == 6
    html = Path(paths[0]).read_text(encoding="utf-8")
    charts = svgs(html)
    assert 0 < len(charts["funnel"]) <= 10 and 0 < len(charts["spc"]) <= 10
