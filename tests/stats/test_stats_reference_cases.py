"""Every published reference value in shared/reference/reference_cases.json is reproduced.

Where the JSON gives a tolerance it is used as an absolute tolerance. Where it does not,
the published value was printed to a fixed number of decimals, so the tolerance is half a
unit in the last printed decimal (the most a correctly rounded value can differ by).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pipelines.stats import (
    byar_interval,
    poisson_funnel_limits,
    proportion_funnel_limits,
    quantile_bounds,
    rate_interval,
    recent_trend,
    wilson_interval,
    xmr,
)

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared/reference/reference_cases.json"
if not REFERENCE.exists():
    pytest.skip(f"reference values not found at {REFERENCE}", allow_module_level=True)
CASES = json.loads(REFERENCE.read_text())


def printed_tolerance(expected: float) -> float:
    """Half a unit in the last decimal printed in the JSON (floor 1e-9 for full-precision values).

    JSON integers (e.g. a limit of exactly 0) are treated as exact.
    """
    if isinstance(expected, int):
        return 1e-9
    text = repr(float(expected))
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    return max(0.5 * 10.0**-decimals, 1e-9) + 1e-12


def assert_close(actual: float, expected: float, tol: float | None = None, label: str = "") -> None:
    tol = printed_tolerance(expected) if tol is None else tol
    assert abs(actual - expected) <= tol, f"{label}: got {actual!r}, expected {expected!r} +/- {tol:g}"


def _ids(cases: list[dict], *keys: str) -> list[str]:
    return ["-".join(f"{k}={c[k]}" for k in keys) for c in cases]


WILSON = CASES["wilson_score"]


@pytest.mark.parametrize("case", WILSON["cases"], ids=_ids(WILSON["cases"], "x", "n", "conf"))
def test_wilson_interval_reproduces_phe_wilson_values(case):
    lower, upper = wilson_interval(case["x"], case["n"], case["conf"])
    assert_close(lower, case["lower"], WILSON["tolerance"], "lower")
    assert_close(upper, case["upper"], WILSON["tolerance"], "upper")


BYARS = CASES["byars_count_limits"]


@pytest.mark.parametrize("case", BYARS["cases"], ids=_ids(BYARS["cases"], "x", "conf"))
def test_pure_byar_interval_reproduces_phe_byars_values(case):
    # PHE's byars_lower/byars_upper apply Byar's formula at every count (x = 1 included),
    # so the exact-Poisson switch is turned off here.
    lower, upper = byar_interval(case["x"], case["conf"], exact_below=0)
    assert_close(lower, case["lower"], BYARS["tolerance"], "lower")
    assert_close(upper, case["upper"], BYARS["tolerance"], "upper")


RATES = CASES["phe_rate_per_100000"]


@pytest.mark.parametrize("case", RATES["cases"], ids=_ids(RATES["cases"], "x", "n", "method"))
@pytest.mark.parametrize("conf,lkey,ukey", [(0.95, "l95", "u95"), (0.998, "l998", "u998")])
def test_rate_interval_reproduces_phe_rate_per_100000(case, conf, lkey, ukey):
    lower, upper = rate_interval(case["x"], case["n"], multiplier=100_000, confidence=conf)
    assert_close(lower, case[lkey], RATES["tolerance"], lkey)
    assert_close(upper, case[ukey], RATES["tolerance"], ukey)


PROPORTIONS = CASES["phe_proportion"]["cases"]


@pytest.mark.parametrize("case", PROPORTIONS, ids=_ids(PROPORTIONS, "x", "n"))
@pytest.mark.parametrize("conf,lkey,ukey", [(0.95, "l95", "u95"), (0.998, "l998", "u998")])
def test_wilson_interval_reproduces_phe_proportion(case, conf, lkey, ukey):
    assert_close(case["x"] / case["n"], case["value"], 1e-15, "value")
    lower, upper = wilson_interval(case["x"], case["n"], conf)
    assert_close(lower, case[lkey], 1e-12, lkey)
    assert_close(upper, case[ukey], 1e-12, ukey)


FUNNEL_SR = CASES["funnelplotr_exact_poisson_sr_limits"]["cases"]


@pytest.mark.parametrize("case", FUNNEL_SR, ids=_ids(FUNNEL_SR, "E"))
def test_poisson_funnel_limits_reproduce_funnelplotr(case):
    ll95, ul95 = poisson_funnel_limits(case["E"], 0.95)
    ll998, ul998 = poisson_funnel_limits(case["E"], 0.998)
    for got, key in ((ll95, "ll95"), (ul95, "ul95"), (ll998, "ll998"), (ul998, "ul998")):
        assert_close(got, case[key], label=key)


def test_poisson_funnel_limits_accept_a_sequence_of_expected_counts():
    lower, upper = poisson_funnel_limits([c["E"] for c in FUNNEL_SR], 0.95)
    for i, case in enumerate(FUNNEL_SR):
        assert_close(float(lower[i]), case["ll95"], label="ll95")
        assert_close(float(upper[i]), case["ul95"], label="ul95")


PHE_FUNNEL = CASES["phe_funnel_proportion_limits"]
PHE_BASELINE = 0.80642448  # "baseline 80.642448%" in the case source


PHE_BASELINE_ROUNDING = 0.5e-8  # the baseline is itself printed to 6 decimals of a percentage


def _phe_lower_percent(population: float, baseline: float, conf: float) -> float:
    return 100 * proportion_funnel_limits(population, baseline, conf)[0]


@pytest.mark.parametrize("case", PHE_FUNNEL["cases"], ids=_ids(PHE_FUNNEL["cases"], "population"))
@pytest.mark.parametrize("conf,key", [(0.95, "lower95"), (0.998, "lower998")])
def test_proportion_funnel_limits_reproduce_phe_funnel_percentages(case, conf, key):
    # The published limits and the published baseline are both rounded to 6 decimals, so
    # the tolerance is the printing error plus the effect of the baseline's rounding error
    # on the limit (measured by moving the baseline by that rounding error).
    got = _phe_lower_percent(case["population"], PHE_BASELINE, conf)
    spread = max(
        abs(_phe_lower_percent(case["population"], PHE_BASELINE + d, conf) - got)
        for d in (-PHE_BASELINE_ROUNDING, PHE_BASELINE_ROUNDING)
    )
    assert_close(got, case[key], printed_tolerance(case[key]) + spread, key)


XMR = CASES["xmr_limits"]


def _xmr_case(fragment: str) -> dict:
    return next(c for c in XMR if fragment in c["source"])


@pytest.mark.parametrize(
    "screen,key",
    [(True, "screen_outliers_true"), (False, "screen_outliers_false_(MDC_Excel)")],
)
def test_xmr_reproduces_nhsrplotthedots_deviations_vignette(screen, key):
    case = _xmr_case("deviations.Rmd")
    result = xmr(case["data"], screen_outliers=screen, min_points=2)
    for field in ("mean", "lpl", "upl"):
        assert_close(getattr(result, field), case[key][field], label=field)
    # "only point 5 (Above UCL) in both"
    expected = [None] * len(case["data"])
    expected[4] = "high"
    assert list(result.special_cause) == expected
    assert result.beyond_limits_side[4] == "high"


@pytest.mark.parametrize(
    "modify,screen,key",
    [
        (False, True, "screen_true"),
        (True, True, "with_y15_set_to_10_screen_true"),
        (True, False, "with_y15_set_to_10_screen_false"),
    ],
)
def test_xmr_reproduces_nhsrplotthedots_snapshot(modify, screen, key):
    case = _xmr_case("ptd_spc_standard.md")
    data = list(case["data"])
    if modify:
        data[14] = 10  # y[15] in R's 1-based indexing
    result = xmr(data, screen_outliers=screen, min_points=2)
    for field in ("mean", "lpl", "upl"):
        assert_close(getattr(result, field), case[key][field], label=field)


def test_xmr_reproduces_nhspy_plotthedots_screened_limits():
    case = _xmr_case("nhspy-plotthedots")
    result = xmr(case["data"], screen_outliers=True, min_points=2)
    exp = case["expected"]
    assert_close(result.mean, exp["mean"], label="mean")
    assert_close(result.lpl, exp["lpl"], label="lpl")
    assert_close(result.upl, exp["upl"], label="upl")
    assert_close(result.lower_2sigma, exp["near_lpl"], label="near_lpl")
    assert_close(result.upper_2sigma, exp["near_upl"], label="near_upl")


def test_xmr_reproduces_powerbi_spc_i_chart_limits_to_4dp():
    case = _xmr_case("PowerBI-SPC")
    values = [n / d for n, d in zip(case["numerators"], case["denominators"], strict=True)]
    result = xmr(values, min_points=2)
    exp = case["expected_4dp"]
    # PowerBI-SPC uses sigma = AMR / 1.128, i.e. 3 sigma = 2.66 AMR and 2 sigma = 1.773 AMR.
    assert round(result.upl, 4) == exp["ul99"]
    assert round(result.upper_2sigma, 4) == exp["ul95"]
    assert round(result.lower_2sigma, 4) == exp["ll95"]
    assert round(result.lpl, 4) == exp["ll99"]
    sigma = result.mr_mean / 1.128
    assert round(result.mean + 3 * sigma, 4) == exp["ul99"]
    assert round(result.mean - 2 * sigma, 4) == exp["ll95"]


TREND = CASES["fingertips_recent_trend"]


def _columns(rows: list[list[float]]) -> dict[str, list[float]]:
    return {name: [row[i] for row in rows] for i, name in enumerate(TREND["columns"])}


def test_recent_trend_generic_reproduces_fingertips_chi2():
    cols = _columns(TREND["data_oldest_first"])
    result = recent_trend(cols["value"], cols["lowerCI95"], cols["upperCI95"])
    assert round(result.chi2, 2) == TREND["expected"]["generic_chi2_2dp"]
    assert result.significant is TREND["expected"]["significant"]
    assert result.direction == "increasing"


def test_recent_trend_proportion_reproduces_fingertips_chi2():
    cols = _columns(TREND["data_oldest_first"])
    result = recent_trend(cols["value"], None, None, kind="proportion",
                          counts=cols["count"], denominators=cols["denominator"])
    assert round(result.chi2, 2) == TREND["expected"]["proportion_chi2_2dp"]
    assert result.significant is TREND["expected"]["significant"]
    assert result.direction == "increasing"


def test_recent_trend_uses_the_fingertips_threshold():
    from pipelines.stats import CHI2_THRESHOLD

    assert math.isclose(CHI2_THRESHOLD, TREND["expected"]["threshold"], rel_tol=0, abs_tol=1e-14)


def test_recent_trend_generic_not_significant_set():
    cols = _columns(TREND["not_significant_set"])
    result = recent_trend(cols["value"], cols["lowerCI95"], cols["upperCI95"])
    assert result.significant is False
    assert result.direction == "no significant change"


def test_quantile_bounds_reproduce_fingertips_quintiles_of_1_to_50():
    case = CASES["fingertips_quintile_bounds"]
    assert case["values"] == "1..50"
    assert quantile_bounds(list(range(1, 51)), 5) == case["expected_bounds"]
