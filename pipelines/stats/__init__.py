"""Benchmark statistics used by NHS tools, reproduced and tested against published values.

Four families (see shared/reference/benchmark-methods.md): position in a distribution
(:mod:`.distribution`), significance against a benchmark (:mod:`.intervals`,
:mod:`.compare`, :mod:`.trend`), funnel plots (:mod:`.funnels`, :mod:`.overdispersion`)
and Making Data Count SPC (:mod:`.spc`). numpy / scipy only, so the methods can run
inside any task without pulling in pandas or Airflow.
"""

from ._validate import POLARITIES
from .compare import COMPARISON_LABELS, NOT_COMPARED, compare_to_benchmark
from .distribution import (
    QUANTILE_METHODS,
    DistributionSummary,
    distribution_summary,
    quantile_bounds,
    rank_and_percentile,
)
from .funnels import (
    ADJUSTMENT_METHODS,
    adjusted_funnel_limits_proportion,
    adjusted_funnel_limits_ratio,
    poisson_funnel_limits,
    proportion_funnel_limits,
)
from .intervals import (
    PHE_EXACT_BELOW,
    byar_interval,
    exact_poisson_interval,
    rate_interval,
    wilson_interval,
)
from .overdispersion import (
    OVERDISPERSION_METHODS,
    overdispersion,
    proportion_transform,
    ratio_transform,
)
from .spc import (
    ASSURANCE_ICONS,
    TWO_OF_THREE_VARIANTS,
    VARIATION_ICONS,
    XmRResult,
    assurance_icon,
    variation_icon,
    xmr,
)
from .trend import CHI2_THRESHOLD, TREND_DIRECTIONS, TREND_KINDS, RecentTrend, recent_trend

__all__ = [
    "ADJUSTMENT_METHODS",
    "ASSURANCE_ICONS",
    "CHI2_THRESHOLD",
    "COMPARISON_LABELS",
    "NOT_COMPARED",
    "OVERDISPERSION_METHODS",
    "PHE_EXACT_BELOW",
    "POLARITIES",
    "QUANTILE_METHODS",
    "TREND_DIRECTIONS",
    "TREND_KINDS",
    "TWO_OF_THREE_VARIANTS",
    "VARIATION_ICONS",
    "DistributionSummary",
    "RecentTrend",
    "XmRResult",
    "adjusted_funnel_limits_proportion",
    "adjusted_funnel_limits_ratio",
    "assurance_icon",
    "byar_interval",
    "compare_to_benchmark",
    "distribution_summary",
    "exact_poisson_interval",
    "overdispersion",
    "poisson_funnel_limits",
    "proportion_funnel_limits",
    "proportion_transform",
    "quantile_bounds",
    "rank_and_percentile",
    "rate_interval",
    "ratio_transform",
    "recent_trend",
    "variation_icon",
    "wilson_interval",
    "xmr",
]
