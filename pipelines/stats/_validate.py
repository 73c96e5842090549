"""Input checks shared by the statistics modules.

Every public function validates its inputs up front and raises ``ValueError`` with a
message of the form ``"<function>: <argument> must be <rule>, got <value>"``. Analysts
hold our numbers against the official tools, so a silent NaN or a count quietly
treated as zero is worse than a loud failure: the message names the argument so a
pipeline log points straight at the offending column.

Scalars must be real, finite numbers. Sequences may contain missing values (``None`` or
NaN, e.g. suppressed small numbers); those become NaN and propagate as missing, never as
zero.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import stats

#: Direction in which a metric improves. "none" = no good direction (e.g. activity counts).
POLARITIES: tuple[str, ...] = ("higher_is_better", "lower_is_better", "none")


def fail(func: str, name: str, rule: str, value: Any) -> ValueError:
    """Build the standard ValueError so every message has the same shape."""
    if isinstance(value, np.generic):
        value = value.item()  # show 0, not np.int64(0)
    return ValueError(f"{func}: {name} must be {rule}, got {value!r}")


def _is_pandas_na(value: Any) -> bool:
    """pandas' NA singleton (nullable dtypes) without importing pandas."""
    return type(value).__name__ == "NAType"


def number(
    func: str,
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    min_inclusive: bool = True,
    maximum: float | None = None,
    max_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float within optional bounds, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(func, name, "a real number", value)
    out = float(value)
    if not math.isfinite(out):
        raise fail(func, name, "a finite number (missing values are not allowed here)", value)
    if minimum is not None:
        if min_inclusive and out < minimum:
            raise fail(func, name, f">= {minimum:g}", value)
        if not min_inclusive and out <= minimum:
            raise fail(func, name, f"> {minimum:g}", value)
    if maximum is not None:
        if max_inclusive and out > maximum:
            raise fail(func, name, f"<= {maximum:g}", value)
        if not max_inclusive and out >= maximum:
            raise fail(func, name, f"< {maximum:g}", value)
    return out


def integer(func: str, name: str, value: Any, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    """Return ``value`` as an int within optional bounds (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise fail(func, name, "an integer", value)
    out = int(value)
    if minimum is not None and out < minimum:
        raise fail(func, name, f">= {minimum}", value)
    if maximum is not None and out > maximum:
        raise fail(func, name, f"<= {maximum}", value)
    return out


def confidence(func: str, value: Any) -> float:
    """Confidence level strictly between 0 and 1 (0.95, 0.998...)."""
    return number(func, "confidence", value, minimum=0.0, min_inclusive=False,
                  maximum=1.0, max_inclusive=False)


def z_value(conf: float) -> float:
    """Two-sided standard normal quantile: 1.959964 for 95%, 3.090232 for 99.8%."""
    return float(stats.norm.ppf(1.0 - (1.0 - conf) / 2.0))


def choice(func: str, name: str, value: Any, options: Sequence[str]) -> str:
    """Value must be one of ``options`` (exact string match)."""
    if not isinstance(value, str) or value not in options:
        raise fail(func, name, f"one of {tuple(options)}", value)
    return value


def polarity(func: str, value: Any) -> str:
    """Polarity must be one of :data:`POLARITIES`."""
    return choice(func, "polarity", value, POLARITIES)


def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas NA: the ways a suppressed value reaches us."""
    if value is None or _is_pandas_na(value):
        return True
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return math.isnan(float(value))
    return False


def float_array(func: str, name: str, values: Any, *, allow_missing: bool = True) -> np.ndarray:
    """Convert a scalar or sequence to a 1-D float array, mapping None / pandas NA to NaN.

    Infinite values and non-numeric entries are rejected; NaN/None are kept as NaN when
    ``allow_missing`` (missing stays missing), otherwise rejected.
    """
    if isinstance(values, str | bytes):
        raise fail(func, name, "a number or a sequence of numbers", values)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        # Already floats (the benchmark build's thousands of series): checked as an array.
        out = values.astype(float).ravel()
        if np.isinf(out).any():
            raise fail(func, name, "finite", out[np.isinf(out)][0].item())
        if not allow_missing and np.isnan(out).any():
            raise fail(func, name, "non-missing", out[np.isnan(out)][0].item())
        return out
    if isinstance(values, np.ndarray):
        raw: Iterable[Any] = values.ravel().tolist()
    elif isinstance(values, Iterable):
        raw = list(values)
    else:
        raw = [values]
    raw = list(raw)
    out = np.empty(len(raw), dtype=float)
    for i, item in enumerate(raw):
        if item is None or _is_pandas_na(item):
            out[i] = np.nan
        elif isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise fail(func, name, "numeric (None/NaN for missing)", item)
        else:
            out[i] = float(item)
        if np.isinf(out[i]):
            raise fail(func, name, "finite", item)
        if np.isnan(out[i]) and not allow_missing:
            raise fail(func, name, "non-missing", item)
    return out


def check_elements(func: str, name: str, arr: np.ndarray, *, minimum: float | None = None,
                   min_inclusive: bool = True, maximum: float | None = None) -> None:
    """Bound-check the non-missing elements of ``arr``; missing entries are skipped."""
    present = ~np.isnan(arr)
    if minimum is not None:
        bad = present & ((arr < minimum) if min_inclusive else (arr <= minimum))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            rule = f">= {minimum:g}" if min_inclusive else f"> {minimum:g}"
            raise ValueError(f"{func}: {name} must be {rule}, got {float(arr[i])!r} at index {i}")
    if maximum is not None:
        bad = present & (arr > maximum)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{func}: {name} must be <= {maximum:g}, got {float(arr[i])!r} at index {i}")


def is_scalar_input(value: Any) -> bool:
    """True when the caller passed a single number (so we return floats, not arrays)."""
    return isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0)


def shape_like(template: Any, *arrays: np.ndarray) -> tuple[Any, ...]:
    """Return floats when ``template`` was a scalar, otherwise the arrays unchanged."""
    if is_scalar_input(template):
        return tuple(float(a[0]) for a in arrays)
    return arrays
