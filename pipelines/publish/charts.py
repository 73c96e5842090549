"""Hand-written inline SVG charts for the benchmark packs.

Why not matplotlib: its SVG backend draws text as glyph paths (unreadable to screen readers and
search), embeds clip paths and styles per chart and costs ~0.1-0.2 s a chart; these charts are
plain ``<svg>`` with real ``<text>``, a ``<title>`` / ``<desc>`` and an ``aria-labelledby`` each,
and render in well under a millisecond.

Every function returns an SVG string; numbers are formatted by the caller's ``fmt`` (so a
suppressed value is never handed to a chart in the first place). Colours:

* significance (Fingertips labels, with the text label always beside the colour):
  Best / Better green, Similar neutral grey, Worse / Worst red, Higher / Lower blue,
  Not compared white with a grey outline;
* Making Data Count: improvement blue, concern orange, neither purple, common cause grey, each
  special-cause class with its own marker shape too, so colour is never the only cue.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Formatter = Callable[[float], str]

# --- palettes ------------------------------------------------------------------------------------

#: label -> (fill, text colour, marker stroke). Text contrast >= 4.5:1 on every fill.
SIGNIFICANCE_STYLE: dict[str, tuple[str, str, str]] = {
    "Best": ("#00441b", "#ffffff", "#00441b"),
    "Better": ("#1b7837", "#ffffff", "#1b7837"),
    "Similar": ("#e3e3e3", "#1a1a1a", "#6f6f6f"),
    "Worse": ("#b2182b", "#ffffff", "#b2182b"),
    "Worst": ("#67001f", "#ffffff", "#67001f"),
    "Higher": ("#2166ac", "#ffffff", "#2166ac"),
    "Lower": ("#bcd7ea", "#1a1a1a", "#4a7fae"),
    "Not compared": ("#ffffff", "#4d4d4d", "#6f6f6f"),
}
NOT_COMPARED = "Not compared"

#: Making Data Count classes: (colour, marker shape, short label).
MDC_IMPROVEMENT = "#2166ac"
MDC_CONCERN = "#b35806"
MDC_NEITHER = "#542788"
MDC_COMMON = "#737373"

VARIATION: dict[str, tuple[str, str, str, str]] = {
    # icon: (colour, letter, arrow, label)
    "common_cause": (MDC_COMMON, "~", "", "Common cause variation"),
    "improvement_high": (MDC_IMPROVEMENT, "H", "up", "Special cause: improvement (high)"),
    "improvement_low": (MDC_IMPROVEMENT, "L", "down", "Special cause: improvement (low)"),
    "concern_high": (MDC_CONCERN, "H", "up", "Special cause: concern (high)"),
    "concern_low": (MDC_CONCERN, "L", "down", "Special cause: concern (low)"),
    "neither_high": (MDC_NEITHER, "H", "up", "Special cause: neither (high)"),
    "neither_low": (MDC_NEITHER, "L", "down", "Special cause: neither (low)"),
}
ASSURANCE: dict[str, tuple[str, str, str]] = {
    "consistently_passing": (MDC_IMPROVEMENT, "P", "Assurance: consistently passing the target"),
    "consistently_failing": (MDC_CONCERN, "F", "Assurance: consistently failing the target"),
    "hit_or_miss": (MDC_COMMON, "?", "Assurance: hit or miss against the target"),
}
POINT_STYLE: dict[str, tuple[str, str]] = {
    # spc_point_variation prefix -> (colour, shape)
    "improvement": (MDC_IMPROVEMENT, "diamond"),
    "concern": (MDC_CONCERN, "square"),
    "neither": (MDC_NEITHER, "triangle"),
    "common_cause": (MDC_COMMON, "circle"),
}

FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif\""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _n(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def finite(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


# --- scales -------------------------------------------------------------------------------------

def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (about ``count`` of them)."""
    if not (finite(lo) and finite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


def padded(lo: float, hi: float, fraction: float = 0.08) -> tuple[float, float]:
    if hi == lo:
        pad = abs(lo) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * fraction
    return lo - pad, hi + pad


@dataclass(frozen=True)
class Linear:
    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, x: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (x - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


# --- SVG pieces ---------------------------------------------------------------------------------

def svg_open(chart_id: str, width: int, height: int, title: str, desc: str, kind: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{esc(kind)}" data-chart="{esc(kind)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" {FONT} font-size="12">'
        f'<title id="{chart_id}-t">{esc(title)}</title><desc id="{chart_id}-d">{esc(desc)}</desc>'
    )


def text(x: float, y: float, content: str, anchor: str = "start", size: float | None = None,
         weight: str | None = None, fill: str = "#1a1a1a", extra: str = "") -> str:
    attrs = f'x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{fill}"'
    if size:
        attrs += f' font-size="{_n(size)}"'
    if weight:
        attrs += f' font-weight="{weight}"'
    return f"<text {attrs}{extra}>{esc(content)}</text>"


def line(x1: float, y1: float, x2: float, y2: float, stroke: str = "#1a1a1a", width: float = 1,
         dash: str | None = None, extra: str = "") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
            f'stroke-width="{_n(width)}"{d}{extra}/>')


def polyline(points: Sequence[tuple[float, float]], stroke: str, width: float = 1.5, dash: str | None = None,
             extra: str = "") -> str:
    if len(points) < 2:
        return ""
    d = f' stroke-dasharray="{dash}"' if dash else ""
    coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
    return f'<polyline points="{coords}" fill="none" stroke="{stroke}" stroke-width="{_n(width)}"{d}{extra}/>'


def marker(shape: str, x: float, y: float, r: float, fill: str, stroke: str = "#1a1a1a",
           width: float = 1, tooltip: str | None = None) -> str:
    tip = f"<title>{esc(tooltip)}</title>" if tooltip else ""
    style = f'fill="{fill}" stroke="{stroke}" stroke-width="{_n(width)}"'
    if shape == "square":
        s = r * 0.9
        body = f'<rect x="{_n(x - s)}" y="{_n(y - s)}" width="{_n(2 * s)}" height="{_n(2 * s)}" {style}>'
        return body + tip + "</rect>"
    if shape == "diamond":
        s = r * 1.25
        pts = f"{_n(x)},{_n(y - s)} {_n(x + s)},{_n(y)} {_n(x)},{_n(y + s)} {_n(x - s)},{_n(y)}"
        return f'<polygon points="{pts}" {style}>{tip}</polygon>'
    if shape == "triangle":
        s = r * 1.25
        pts = f"{_n(x)},{_n(y - s)} {_n(x + s)},{_n(y + s * 0.8)} {_n(x - s)},{_n(y + s * 0.8)}"
        return f'<polygon points="{pts}" {style}>{tip}</polygon>'
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}" {style}>{tip}</circle>'


def _y_axis(scale: Linear, ticks: list[float], left: float, right: float, fmt: Formatter) -> list[str]:
    out = []
    for t in ticks:
        y = scale(t)
        out.append(line(left, y, right, y, stroke="#e6e6e6"))
        out.append(text(left - 6, y + 4, fmt(t), anchor="end", size=11, fill="#404040"))
    out.append(line(left, scale.r0, left, scale.r1, stroke="#8c8c8c"))
    return out


def _x_axis(scale: Linear, ticks: list[float], top: float, bottom: float, fmt: Formatter,
            grid: bool = True) -> list[str]:
    out = []
    for t in ticks:
        x = scale(t)
        if grid:
            out.append(line(x, top, x, bottom, stroke="#eeeeee"))
        out.append(line(x, bottom, x, bottom + 4, stroke="#8c8c8c"))
        out.append(text(x, bottom + 16, fmt(t), anchor="middle", size=11, fill="#404040"))
    out.append(line(scale.r0, bottom, scale.r1, bottom, stroke="#8c8c8c"))
    return out


def legend(items: Sequence[tuple[str, str]], x: float, y: float, spacing: float = 14) -> list[str]:
    """``items``: (SVG snippet drawn at the origin, label); laid out left to right."""
    out = []
    cursor = x
    for snippet, label in items:
        out.append(f'<g transform="translate({_n(cursor)},{_n(y)})">{snippet}</g>')
        out.append(text(cursor + 12, y + 4, label, size=11, fill="#333333"))
        cursor += 12 + 6.9 * len(label) + spacing
    return out


def short_number(x: float) -> str:
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:.3g}M"
    if a >= 1e4:
        return f"{x / 1e3:.3g}k"
    if a >= 100 or x == int(x):
        return f"{x:,.0f}"
    return f"{x:.3g}"


# --- funnel plot --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FunnelPoint:
    size: float
    value: float
    label: str  # tooltip: trust name and value (never for a suppressed cell: those are not points)
    role: str  # "trust", "network" or "other"


def funnel_svg(chart_id: str, title: str, desc: str, points: Sequence[FunnelPoint], centre: float,
               curves: dict[str, Sequence[tuple[float, float]]], fmt: Formatter, x_label: str,
               trust_colour: str, width: int = 540, height: int = 330) -> str:
    """Value against size with the comparator's centre line and the funnel limits.

    ``curves`` maps "lower_95", "upper_95", "lower_998", "upper_998" (and optionally the
    ``adj_`` versions) to (size, value) points.
    """
    left, right, top, bottom = 66, width - 14, 12, height - 62
    sizes = [p.size for p in points if finite(p.size)]
    values = [p.value for p in points if finite(p.value)]
    if not sizes or not values:
        return ""
    x_hi = max(sizes) * 1.05
    y_lo, y_hi = min(values + [centre]), max(values + [centre])
    # the 99.8% limits at the smallest unit, so the funnel's mouth is visible but not unbounded
    smallest = min(sizes)
    for key in ("lower_998", "upper_998"):
        near = [v for s, v in curves.get(key, ()) if finite(v) and s >= smallest * 0.999]
        if near:
            y_lo, y_hi = min(y_lo, near[0]), max(y_hi, near[0])
    y_lo, y_hi = padded(y_lo, y_hi)
    xs = Linear(0.0, x_hi, left, right)
    ys = Linear(y_lo, y_hi, bottom, top)
    out = [svg_open(chart_id, width, height, title, desc, "funnel")]
    out += _y_axis(ys, nice_ticks(y_lo, y_hi), left, right, fmt)
    out += _x_axis(xs, nice_ticks(0.0, x_hi), top, bottom, short_number, grid=False)
    out.append(f'<clipPath id="{chart_id}-clip"><rect x="{left}" y="{top}" width="{right - left}" '
               f'height="{bottom - top}"/></clipPath><g clip-path="url(#{chart_id}-clip)">')
    out.append(line(left, ys(centre), right, ys(centre), stroke="#1a1a1a", width=1.2))
    styles = {"95": ("#4d4d4d", "5 3", 1.2), "998": ("#1a1a1a", None, 1.4)}
    for key, pts in curves.items():
        level = key.rsplit("_", 1)[1]
        colour, dash, stroke_width = styles.get(level, ("#4d4d4d", "2 2", 1))
        if key.startswith("adj_"):
            colour, dash, stroke_width = "#8c6bb1", "1 3", 1.4
        out.append(polyline([(xs(s), ys(v)) for s, v in pts if finite(v)], colour, stroke_width, dash))
    for role in ("other", "network", "trust"):
        for p in points:
            if p.role != role or not (finite(p.size) and finite(p.value)):
                continue
            if role == "trust":
                out.append(marker("diamond", xs(p.size), ys(p.value), 6.5, trust_colour, "#000000", 1.6, p.label))
            elif role == "network":
                out.append(marker("circle", xs(p.size), ys(p.value), 4, "#ffffff", "#333333", 1.4, p.label))
            else:
                out.append(marker("circle", xs(p.size), ys(p.value), 2.6, "#b3b3b3", "#8c8c8c", 0.6, p.label))
    out.append("</g>")
    out.append(text((left + right) / 2, bottom + 32, x_label, anchor="middle", size=11, fill="#333333"))
    roles = {p.role for p in points}
    items = [
        (marker("diamond", 0, 0, 5, trust_colour, "#000000", 1.4), "This trust"),
        (marker("circle", 0, 0, 3.5, "#ffffff", "#333333", 1.4), "Network trusts"),
        (marker("circle", 0, 0, 2.6, "#b3b3b3", "#8c8c8c", 0.6), "Other trusts"),
    ]
    items = [item for item, role in zip(items, ("trust", "network", "other"), strict=True) if role in roles]
    lines = [
        (line(-6, 0, 6, 0, "#4d4d4d", 1.2, "5 3"), "95% limits"),
        (line(-6, 0, 6, 0, "#1a1a1a", 1.4), "99.8% limits"),
    ]
    if any(key.startswith("adj_") for key in curves):
        lines.append((line(-6, 0, 6, 0, "#8c6bb1", 1.4, "1 3"), "99.8% adjusted for overdispersion"))
    out += legend(items, left, height - 22)
    out += legend(lines, left, height - 7)
    out.append("</svg>")
    return "".join(out)


# --- SPC (XmR) chart ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SpcPoint:
    label: str  # period label
    value: float | None  # None: suppressed / not published (a gap)
    variation: str | None  # spc_point_variation
    text_value: str  # formatted value or "suppressed"


def spc_svg(chart_id: str, title: str, desc: str, points: Sequence[SpcPoint], mean: float | None,
            lpl: float | None, upl: float | None, target: float | None, fmt: Formatter,
            width: int = 540, height: int = 300) -> str:
    left, right, top, bottom = 62, width - 92, 12, height - 56
    values = [p.value for p in points if p.value is not None and finite(p.value)]
    if not values:
        return ""
    lines_at = [v for v in (mean, lpl, upl, target) if finite(v)]
    y_lo, y_hi = padded(min(values + lines_at), max(values + lines_at))
    n = len(points)
    xs = Linear(0, max(1, n - 1), left + 8, right - 8)
    ys = Linear(y_lo, y_hi, bottom, top)
    out = [svg_open(chart_id, width, height, title, desc, "spc")]
    out += _y_axis(ys, nice_ticks(y_lo, y_hi), left, right, fmt)
    out.append(line(left, bottom, right, bottom, stroke="#8c8c8c"))
    step = max(1, math.ceil(n / 8))
    for i in range(n - 1, -1, -step):  # the latest period always labelled
        x = xs(i)
        out.append(line(x, bottom, x, bottom + 4, stroke="#8c8c8c"))
        out.append(text(x, bottom + 16, points[i].label, anchor="middle", size=10.5, fill="#404040"))
    for value, name, colour, dash in ((upl, "UPL", "#4d4d4d", "6 3"), (lpl, "LPL", "#4d4d4d", "6 3"),
                                      (mean, "Mean", "#1a1a1a", None), (target, "Target", "#c51b7d", "2 2")):
        if finite(value):
            y = ys(value)
            out.append(line(left, y, right, y, stroke=colour, width=1.3, dash=dash))
            out.append(text(right + 4, y + 4, f"{name} {fmt(value)}", size=10.5, fill=colour))
    # the series, broken at missing points
    segment: list[tuple[float, float]] = []
    for i, p in enumerate(points):
        if p.value is None or not finite(p.value):
            out.append(polyline(segment, "#7f7f7f", 1.3))
            segment = []
            out.append(text(xs(i), bottom - 4, "s", anchor="middle", size=10, fill="#7f7f7f",
                            extra=f' aria-label="{esc(p.label)}: suppressed or not published"'))
        else:
            segment.append((xs(i), ys(p.value)))
    out.append(polyline(segment, "#7f7f7f", 1.3))
    for i, p in enumerate(points):
        if p.value is None or not finite(p.value):
            continue
        kind = (p.variation or "common_cause").split("_")[0]
        colour, shape = POINT_STYLE.get(kind, POINT_STYLE["common_cause"])
        r = 3 if kind == "common" else 4.5
        tip = f"{p.label}: {p.text_value}" + ("" if kind == "common" or not p.variation
                                               else f" ({p.variation.replace('_', ' ')})")
        out.append(marker(shape, xs(i), ys(p.value), r, colour, "#ffffff" if kind == "common" else "#1a1a1a",
                          0.8, tip))
    items = [
        (marker("circle", 0, 0, 3, MDC_COMMON, "#ffffff", 0.8), "Common cause"),
        (marker("diamond", 0, 0, 4, MDC_IMPROVEMENT, "#1a1a1a", 0.8), "Improvement"),
        (marker("square", 0, 0, 4, MDC_CONCERN, "#1a1a1a", 0.8), "Concern"),
        (marker("triangle", 0, 0, 4, MDC_NEITHER, "#1a1a1a", 0.8), "Neither"),
    ]
    out += legend(items, left, height - 24)
    out.append(text(left, height - 8, "UPL / LPL: upper / lower process limits; s = suppressed or not "
                    "published (no value shown)", size=10.5, fill="#595959"))
    out.append("</svg>")
    return "".join(out)


# --- Making Data Count badges -------------------------------------------------------------------

def variation_badge(chart_id: str, icon: str | None, compact: bool = False) -> str:
    """A small labelled SVG badge for a Making Data Count variation icon ('' when unknown)."""
    if icon not in VARIATION:
        return ""
    colour, letter, arrow, label = VARIATION[icon]
    return _badge(chart_id, colour, letter, arrow, label, "variation", compact)


def assurance_badge(chart_id: str, icon: str | None, compact: bool = False) -> str:
    if icon not in ASSURANCE:
        return ""
    colour, letter, label = ASSURANCE[icon]
    return _badge(chart_id, colour, letter, "", label, "assurance", compact)


def _badge(chart_id: str, colour: str, letter: str, arrow: str, label: str, kind: str, compact: bool) -> str:
    width = 24 if compact else 24 + int(7.3 * len(label)) + 8
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="badge badge-{kind}" data-chart="badge" '
        f'viewBox="0 0 {width} 24" width="{width}" height="24" role="img" aria-labelledby="{chart_id}-t" {FONT}>'
        f'<title id="{chart_id}-t">{esc(label)}</title>',
        f'<circle cx="12" cy="12" r="10.5" fill="#ffffff" stroke="{colour}" stroke-width="2"/>',
    ]
    if letter == "~":
        out.append(f'<path d="M5.5 13 q3.2 -6 6.5 0 t6.5 0" fill="none" stroke="{colour}" stroke-width="2"/>')
    else:
        out.append(text(12, 16.2, letter, anchor="middle", size=12, weight="700", fill=colour))
    if arrow == "up":
        out.append(f'<path d="M17 8.5 l2 -3 l2 3 z" fill="{colour}"/>')
    elif arrow == "down":
        out.append(f'<path d="M17 15.5 l2 3 l2 -3 z" fill="{colour}"/>')
    if not compact:
        out.append(text(28, 16, label, size=11.5, fill="#1a1a1a"))
    out.append("</svg>")
    return "".join(out)


# --- spine chart --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpineRow:
    label: str
    value_text: str  # the trust's value, formatted (or "suppressed")
    comparator_text: str  # e.g. "median 4.3%"
    value: float | None
    worst: float
    q1: float
    median: float
    q3: float
    best: float
    significance: str


def spine_position(value: float, row: SpineRow) -> float | None:
    """0..1 across the spine: worst at 0, best at 1, the median at 0.5 (Fingertips layout).

    The half-width is the larger distance from the median to best or worst, so the median is
    always central and the direction right = better whatever the polarity.
    """
    direction = 1.0 if row.best >= row.worst else -1.0
    spread = max(abs(row.best - row.median), abs(row.worst - row.median))
    if not finite(value):
        return None
    if spread == 0:
        return 0.5
    return min(1.0, max(0.0, 0.5 + 0.5 * direction * (value - row.median) / spread))


def spine_svg(chart_id: str, title: str, desc: str, rows: Sequence[SpineRow], comparator_label: str,
              width: int = 1100) -> str:
    if not rows:
        return ""
    row_h = 22
    label_w, value_w, sig_w = 330, 92, 100
    left = label_w + value_w
    right = width - sig_w - 10
    top = 34
    height = top + row_h * len(rows) + 46
    xs = Linear(0.0, 1.0, left + 6, right - 6)
    out = [svg_open(chart_id, width, height, title, desc, "spine")]
    out.append(text(8, 18, "Metric", weight="600"))
    out.append(text(left - 8, 18, "Trust value", anchor="end", weight="600"))
    out.append(text(xs(0), 18, "\u2190 worse", size=11, fill="#595959"))
    out.append(text(xs(0.5), 18, f"{comparator_label} median", anchor="middle", size=11, fill="#595959"))
    out.append(text(xs(1), 18, "better \u2192", anchor="end", size=11, fill="#595959"))
    out.append(text(right + 8, 18, "Significance", weight="600"))
    for i, row in enumerate(rows):
        y = top + i * row_h
        mid = y + row_h / 2
        if i % 2 == 0:
            out.append(f'<rect x="0" y="{_n(y)}" width="{width}" height="{row_h}" fill="#f6f6f6"/>')
        label = row.label if len(row.label) <= 52 else row.label[:50] + "\u2026"
        out.append(text(8, mid + 4, label, extra=f' aria-label="{esc(row.label)}"' if label != row.label else ""))
        out.append(text(left - 8, mid + 4, row.value_text, anchor="end"))
        pos = [spine_position(v, row) for v in (row.worst, row.q1, row.q3, row.best)]
        w0, a, b, w1 = (p if p is not None else 0.5 for p in pos)
        lo, hi = min(w0, w1), max(w0, w1)
        out.append(f'<rect x="{_n(xs(lo))}" y="{_n(mid - 6)}" width="{_n(xs(hi) - xs(lo))}" height="12" '
                   f'fill="#c6dbef"><title>{esc(row.comparator_text)}</title></rect>')
        qa, qb = min(a, b), max(a, b)
        out.append(f'<rect x="{_n(xs(qa))}" y="{_n(mid - 6)}" width="{_n(max(1.0, xs(qb) - xs(qa)))}" '
                   f'height="12" fill="#6baed6"/>')
        out.append(line(xs(0.5), mid - 9, xs(0.5), mid + 9, stroke="#08306b", width=2))
        p = spine_position(row.value, row) if row.value is not None else None
        fill, _, stroke = SIGNIFICANCE_STYLE.get(row.significance, SIGNIFICANCE_STYLE[NOT_COMPARED])
        if p is not None:
            out.append(marker("circle", xs(p), mid, 6, fill, "#000000", 1.4,
                              f"{row.label}: {row.value_text} ({row.significance}); {row.comparator_text}"))
        sfill, stext, sstroke = SIGNIFICANCE_STYLE.get(row.significance, SIGNIFICANCE_STYLE[NOT_COMPARED])
        out.append(f'<rect x="{right + 6}" y="{_n(mid - 8)}" width="{sig_w - 4}" height="16" rx="3" '
                   f'fill="{sfill}" stroke="{sstroke}"/>')
        out.append(text(right + 6 + (sig_w - 4) / 2, mid + 4, row.significance, anchor="middle", size=11,
                        fill=stext))
    y = top + row_h * len(rows) + 18
    items = [
        ('<rect x="-6" y="-5" width="12" height="10" fill="#c6dbef"/>', "Worst to best"),
        ('<rect x="-6" y="-5" width="12" height="10" fill="#6baed6"/>', "Interquartile range (Q1-Q3)"),
        (line(0, -7, 0, 7, "#08306b", 2), f"{comparator_label} median"),
        (marker("circle", 0, 0, 5, "#ffffff", "#000000", 1.4), "This trust (coloured by significance)"),
    ]
    out += legend(items, 8, y)
    out.append(text(8, y + 18, "Right = better for every metric with a polarity; higher for metrics "
                    "without one.", size=11, fill="#595959"))
    out.append("</svg>")
    return "".join(out)


# --- forest plot --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ForestRow:
    label: str
    scope: str
    rho: float | None
    lower: float | None
    upper: float | None
    n: int | None
    note: str = ""


def forest_svg(chart_id: str, title: str, desc: str, rows: Sequence[ForestRow], width: int = 1100) -> str:
    if not rows:
        return ""
    row_h = 22
    label_w = 450
    left, right = label_w + 10, width - 190
    top = 30
    height = top + row_h * len(rows) + 48
    xs = Linear(-1.0, 1.0, left, right)
    out = [svg_open(chart_id, width, height, title, desc, "forest")]
    out.append(text(8, 18, "Culture metric \u2192 outcome metric (scope)", weight="600"))
    out.append(text(right + 10, 18, "rho [95% CI], n", weight="600"))
    for t in (-1, -0.5, 0, 0.5, 1):
        x = xs(t)
        out.append(line(x, top, x, top + row_h * len(rows), stroke="#1a1a1a" if t == 0 else "#e0e0e0",
                        width=1.2 if t == 0 else 1))
        out.append(text(x, top + row_h * len(rows) + 16, f"{t:g}", anchor="middle", size=11, fill="#404040"))
    for i, row in enumerate(rows):
        y = top + i * row_h
        mid = y + row_h / 2
        if i % 2 == 0:
            out.append(f'<rect x="0" y="{_n(y)}" width="{width}" height="{row_h}" fill="#f6f6f6"/>')
        label = f"{row.label} ({row.scope})"
        room = 64 - len(row.scope) - 3  # truncate the pair, never the scope
        shown = label if len(label) <= 64 else f"{row.label[:max(8, room - 1)]}\u2026 ({row.scope})"
        out.append(text(8, mid + 4, shown, size=11.5))
        network = row.scope.lower() != "england"
        colour = "#542788" if network else "#2166ac"
        if finite(row.rho):
            if finite(row.lower) and finite(row.upper):
                out.append(line(xs(row.lower), mid, xs(row.upper), mid, stroke=colour, width=2))
                out.append(line(xs(row.lower), mid - 4, xs(row.lower), mid + 4, stroke=colour, width=1.5))
                out.append(line(xs(row.upper), mid - 4, xs(row.upper), mid + 4, stroke=colour, width=1.5))
            ci = (f" [{row.lower:.2f}, {row.upper:.2f}]" if finite(row.lower) and finite(row.upper) else "")
            n = f", n={row.n}" if row.n is not None else ""
            summary = f"{row.rho:.2f}{ci}{n}"
            out.append(marker("square" if network else "circle", xs(row.rho), mid, 4.5, colour, "#000000", 1,
                              f"{label}: rho {summary}"))
            out.append(text(right + 10, mid + 4, summary, size=11))
        else:
            out.append(text(right + 10, mid + 4, row.note or "not estimated", size=11, fill="#595959"))
    y = top + row_h * len(rows) + 34
    out += legend([
        (marker("circle", 0, 0, 4, "#2166ac", "#000000", 1), "England"),
        (marker("square", 0, 0, 4, "#542788", "#000000", 1), "Network"),
        (line(-6, 0, 6, 0, "#404040", 2), "95% confidence interval"),
    ], left, y)
    out.append(text(8, y + 4, "Spearman rank correlation across trusts", size=11, fill="#595959"))
    out.append("</svg>")
    return "".join(out)
