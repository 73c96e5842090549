"""The synthetic NHS: organisations, periods and a known ground truth for every source to publish.

Every synthetic file (survey, patient experience, workforce, reference data) is written from one
:class:`World`, so the sources agree with each other the way real publications do, and tests can
check that the pipeline recovers what was planted:

- a latent **culture** score per trust and survey year drives staff engagement and, with a known
  strength (:attr:`World.culture_effect`), patient experience, sickness absence and turnover;
- a **succession chain** (three trusts merging in two steps) exercises the successor mapping;
- **special-cause shifts**: a few trusts' sickness absence steps up for the last months;
- **outliers**: a few trusts' patient experience is far below everyone else's.

Everything is seeded; the same arguments give byte-identical files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

import numpy as np

SYNTHETIC_BANNER = "SYNTHETIC DATA generated for demonstration and testing - not real NHS figures"

REGIONS: dict[str, str] = {
    "Y56": "London",
    "Y58": "South West",
    "Y59": "South East",
    "Y60": "Midlands",
    "Y61": "East of England",
    "Y62": "North West",
    "Y63": "North East and Yorkshire",
}

# (type, Staff Survey benchmarking group key, share of trusts): shares follow the 2025 survey.
ORG_TYPES: tuple[tuple[str, str, float], ...] = (
    ("Acute", "acute", 121 / 206),
    ("Acute Specialist", "acute_specialist", 13 / 206),
    ("Mental Health", "mental_health", 48 / 206),
    ("Community Provider Trust", "community", 13 / 206),
    ("Ambulance", "ambulance", 11 / 206),
)

# The default network's real trusts, so the demo speaks of organisations analysts know.
REAL_NETWORK_TRUSTS: tuple[tuple[str, str, str, str, str], ...] = (
    ("RC9", "BEDFORDSHIRE HOSPITALS NHS FOUNDATION TRUST", "Acute", "Y61", "QHG"),
    ("RD8", "MILTON KEYNES UNIVERSITY HOSPITAL NHS FOUNDATION TRUST", "Acute", "Y61", "QHG"),
    ("RWK", "EAST LONDON NHS FOUNDATION TRUST", "Mental Health", "Y56", "QMF"),
    ("RV3", "CENTRAL AND NORTH WEST LONDON NHS FOUNDATION TRUST", "Mental Health", "Y56", "QMJ"),
    ("RYV", "CAMBRIDGESHIRE COMMUNITY SERVICES NHS TRUST", "Community Provider Trust", "Y61", "QUE"),
    ("RYC", "EAST OF ENGLAND AMBULANCE SERVICE NHS TRUST", "Ambulance", "Y61", "QUE"),
)

_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Organisation:
    """One synthetic NHS trust as ODS and the publishers describe it."""

    code: str
    name: str
    org_type: str
    survey_group: str
    region_code: str
    icb_code: str
    open_date: date
    close_date: date | None = None
    successor: str | None = None

    @property
    def region_name(self) -> str:
        return REGIONS[self.region_code]

    @property
    def icb_name(self) -> str:
        return f"NHS {self.icb_code} Integrated Care Board (synthetic)"

    def is_open(self, on: date) -> bool:
        return self.open_date <= on and (self.close_date is None or on <= self.close_date)


@dataclass(frozen=True)
class Succession:
    """An ODS succession record: ``old`` was succeeded by ``new`` on ``effective``."""

    old: str
    new: str
    effective: date
    reason: str = "R"


def stable_seed(*parts: object) -> int:
    """A seed that depends only on its parts, so each file's numbers do not depend on write order."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass
class World:
    """The synthetic NHS at a scale: ~220 trusts per unit of ``scale`` over ``years`` years.

    ``end_month`` is the last month of monthly data published; survey years run up to the year
    before it (the survey published each March covers the previous autumn).
    """

    scale: int = 1
    years: int = 5
    end_month: date = date(2026, 6, 1)
    seed: int = 20260326
    culture_effect: float = 0.6  # planted correlation strength between culture and outcomes
    shifted_trusts: tuple[str, ...] = field(default=())
    outlier_trusts: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.scale < 1 or self.years < 1:
            raise ValueError(f"scale and years must be >= 1, got scale={self.scale}, years={self.years}")

    # --- organisations -------------------------------------------------------------------------
    @cached_property
    def organisations(self) -> list[Organisation]:
        rng = np.random.default_rng(stable_seed(self.seed, "orgs", self.scale))
        orgs = [
            Organisation(code, name, kind, _group_of(kind), region, icb, date(1992, 4, 1))
            for code, name, kind, region, icb in REAL_NETWORK_TRUSTS
        ]
        used = {o.code for o in orgs}
        icbs = [f"Q{_LETTERS[i // 24]}{_LETTERS[i % 24]}" for i in range(42 * self.scale)]
        region_of_icb = {icb: list(REGIONS)[i % len(REGIONS)] for i, icb in enumerate(icbs)}
        total = 214 * self.scale
        kinds = rng.choice(len(ORG_TYPES), size=total, p=[share for *_, share in ORG_TYPES])
        serial = 0
        for kind_index in kinds:
            while True:
                code = _synthetic_code(serial)
                serial += 1
                if code not in used:
                    break
            used.add(code)
            kind = ORG_TYPES[kind_index][0]
            icb = icbs[int(rng.integers(len(icbs)))]
            orgs.append(
                Organisation(
                    code,
                    f"{_place(rng)} {_title(kind)} NHS {'FOUNDATION ' if rng.random() < 0.6 else ''}TRUST",
                    kind,
                    _group_of(kind),
                    region_of_icb[icb],
                    icb,
                    date(1994 + int(rng.integers(20)), 4, 1),
                )
            )
        return self._with_succession_chain(orgs)

    def _with_succession_chain(self, orgs: list[Organisation]) -> list[Organisation]:
        """Make three acute trusts merge in two steps (A -> B, then B -> C) inside the time span."""
        acute = [o for o in orgs if o.org_type == "Acute" and o.code not in {t[0] for t in REAL_NETWORK_TRUSTS}]
        first, second, survivor = acute[0], acute[1], acute[2]
        step_one, step_two = self.succession_dates
        replaced = {
            first.code: _closed(first, step_one, second.code),
            second.code: _closed(second, step_two, survivor.code),
        }
        return [replaced.get(o.code, o) for o in orgs]

    @property
    def succession_dates(self) -> tuple[date, date]:
        """The two merger dates: a third and two thirds of the way through the monthly span."""
        months = self.months
        return months[len(months) // 3], months[2 * len(months) // 3]

    @cached_property
    def successions(self) -> list[Succession]:
        return [
            Succession(o.code, o.successor, o.close_date + timedelta(days=1))
            for o in self.organisations
            if o.successor and o.close_date
        ]

    def open_organisations(self, on: date) -> list[Organisation]:
        return [o for o in self.organisations if o.is_open(on)]

    # --- periods --------------------------------------------------------------------------------
    @cached_property
    def months(self) -> list[date]:
        """First days of every published month, oldest first (``years`` x 12 months)."""
        count = 12 * self.years
        first = _add_months(self.end_month, -(count - 1))
        return [_add_months(first, i) for i in range(count)]

    @property
    def survey_years(self) -> list[int]:
        last = self.end_month.year - 1 if self.end_month.month >= 3 else self.end_month.year - 2
        return list(range(last - self.years + 1, last + 1))

    # --- planted truth --------------------------------------------------------------------------
    @cached_property
    def _trust_effect(self) -> dict[str, float]:
        rng = np.random.default_rng(stable_seed(self.seed, "trust-effect", self.scale))
        return {o.code: float(rng.normal()) for o in self.organisations}

    def culture(self, code: str, year: int) -> float:
        """Latent culture (standard normal across trusts) for a trust and survey year."""
        noise = np.random.default_rng(stable_seed(self.seed, "culture", code, year)).normal(scale=0.35)
        return 0.95 * self._trust_effect[code] + float(noise)

    def culture_at(self, code: str, month: date) -> float:
        """Culture in force in a month: the survey year whose fieldwork preceded it."""
        year = month.year - 1 if month.month < 10 else month.year
        return self.culture(code, min(max(year, self.survey_years[0]), self.survey_years[-1]))

    @cached_property
    def default_shifted_trusts(self) -> tuple[str, ...]:
        """Trusts whose sickness absence steps up for the last nine months (SPC must find them)."""
        if self.shifted_trusts:
            return self.shifted_trusts
        candidates = [o.code for o in self.organisations if o.close_date is None and o.org_type == "Acute"]
        return tuple(candidates[5:8])

    @cached_property
    def default_outlier_trusts(self) -> tuple[str, ...]:
        """Trusts whose patient experience is far below the rest (funnels must flag them)."""
        if self.outlier_trusts:
            return self.outlier_trusts
        candidates = [o.code for o in self.organisations if o.close_date is None and o.org_type == "Acute"]
        return tuple(candidates[10:12])

    def shift_start(self) -> date:
        return self.months[-9]

    def rng(self, *parts: object) -> np.random.Generator:
        """A generator seeded for one file or cell family, independent of everything else."""
        return np.random.default_rng(stable_seed(self.seed, self.scale, *parts))


def _group_of(kind: str) -> str:
    return next(group for name, group, _ in ORG_TYPES if name == kind)


def _closed(org: Organisation, on: date, successor: str) -> Organisation:
    """The organisation as ODS shows it after a merger: closed the day before ``on``."""
    return Organisation(
        org.code, org.name, org.org_type, org.survey_group, org.region_code, org.icb_code,
        org.open_date, on - timedelta(days=1), successor,
    )


def _synthetic_code(serial: int) -> str:
    """Three-character trust codes in the R?? / T?? space that real trusts use.

    Letters first (the codes every scale up to 5 has always had), then codes with a digit, which
    real trust codes also have (``RA7``, ``R1F``): enough for scale 10. Beyond the space the world
    refuses to be built rather than repeat a code.
    """
    if serial < len(_LETTER_CODES):
        return _LETTER_CODES[serial]
    if serial - len(_LETTER_CODES) < len(_DIGIT_CODES):
        return _DIGIT_CODES[serial - len(_LETTER_CODES)]
    raise ValueError(f"the synthetic world has no trust code left after {serial} (at most "
                     f"{len(_LETTER_CODES) + len(_DIGIT_CODES)}): use a smaller scale")


_LETTER_CODES = tuple(f"{prefix}{a}{b}" for prefix in "RT" for a in _LETTERS for b in _LETTERS)
_DIGIT_CODES = tuple(f"{prefix}{a}{b}" for prefix in "RT" for a in _LETTERS + "0123456789"
                     for b in _LETTERS + "0123456789" if not (a + b).isalpha())


_PLACES = (
    "NORTHBROOK", "EASTFIELD", "WESTMOOR", "SOUTHDALE", "KINGSFORD", "ASHBY", "BRAMLEY", "CASTLETON",
    "DENHOLME", "ELMSWORTH", "FAIRHAVEN", "GLENBURY", "HARTLEY", "IVYBRIDGE", "LANGLEY", "MARLOW",
    "NEWSTEAD", "OAKHAM", "PENRITH", "REDCLIFFE", "SHEPLEY", "THORNBURY", "UPTON", "WALDEN",
)


def _place(rng: np.random.Generator) -> str:
    return f"{_PLACES[int(rng.integers(len(_PLACES)))]} AND {_PLACES[int(rng.integers(len(_PLACES)))]}"


def _title(kind: str) -> str:
    return {
        "Acute": "HOSPITALS",
        "Acute Specialist": "SPECIALIST HOSPITAL",
        "Mental Health": "MENTAL HEALTH",
        "Community Provider Trust": "COMMUNITY HEALTH SERVICES",
        "Ambulance": "AMBULANCE SERVICE",
    }[kind]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def write_monthly(world: World, out_dir: Path, file_name: Callable[[date], str],
                  render: Callable[[date], bytes]) -> list[Path]:
    """Write one file per published month into a publication page's folder (the monthly sources)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for month in world.months:
        path = out_dir / file_name(month)
        path.write_bytes(render(month))
        paths.append(path)
    return paths
