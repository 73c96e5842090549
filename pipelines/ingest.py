"""Ingest one source: discover -> download -> land -> parse -> validate -> load (or quarantine).

These are the steps the ingest DAGs call, one task each, and the steps the CLI's backfill and
validate commands call without Airflow. Write-audit-publish: nothing reaches ``raw`` before its
expectation suite passed; a file that fails to parse or validate is quarantined with its raw
bytes, the findings and the Data Docs, and :class:`ExtractRejected` is raised so the run fails
with a message naming the file, the check and example rows.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipelines.config import Settings
from pipelines.fetch import ReleaseLink, discover, download, publisher_session
from pipelines.landing import LandedFile, land
from pipelines.ledger import Ledger
from pipelines.parsers.common import ParsedExtract
from pipelines.parsers.errors import ParseError
from pipelines.quarantine import quarantine
from pipelines.sources.catalogue import SourceSpec, get_source

if TYPE_CHECKING:
    import requests

    from pipelines.validation.suites import ScreenedTogether, ValidationReport
    from pipelines.warehouse.connection import BatchConnection, Warehouse

log = logging.getLogger(__name__)


class ExtractRejected(RuntimeError):
    """An extract failed parsing or validation and was quarantined; the message is for the analyst."""


@dataclass(frozen=True)
class Outcome:
    source_id: str
    file_name: str
    status: str  # loaded | unchanged | already_loaded
    sha256: str | None = None
    rows: int = 0
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "warnings": list(self.warnings)}


def plan(
    source_id: str,
    settings: Settings,
    since: str | None = None,
    until: str | None = None,
    pinned: list[str] | None = None,
) -> list[dict[str, str | None]]:
    """The publisher's files for a source, optionally limited to periods ``since``..``until``."""
    spec = get_source(source_id)
    links = discover(spec, settings.publisher, pinned=pinned)
    Ledger(settings.paths.state).record_check(source_id, len(links))
    chosen = [
        link
        for link in links
        if link.period_hint is None
        or ((since is None or link.period_hint >= since[: len(link.period_hint)])
            and (until is None or link.period_hint <= until[: len(link.period_hint)]))
    ]
    log.info("%s: %d files on the publisher's page, %d in range", spec.title, len(links), len(chosen))
    return [link.as_dict() for link in chosen]


def fetch_and_land(source_id: str, link: dict[str, str | None], settings: Settings,
                   session: requests.Session | None = None,
                   landed_records: dict[str, dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """Download one file (conditionally, if already seen) and land it; None when unchanged.

    ``session``: the publisher's session of the caller's downloads (:func:`publisher_session`).
    ``landed_records``: where the file's ledger record is added for the caller to write with the
    others of its run (:meth:`Ledger.record_extracts`); without it, it is written now.
    """
    ledger = Ledger(settings.paths.state)
    release = ReleaseLink(url=str(link["url"]), file_name=str(link["file_name"]), period_hint=link.get("period_hint"))
    seen = ledger.latest_for_url(source_id, release.url)
    # Only a loaded file may be skipped as unchanged: a quarantined one is fetched and checked again,
    # because the suite or the parser may have been corrected since.
    loaded = seen is not None and seen["status"] in {"loaded", "released"}
    got = download(release, settings.publisher, if_modified_since=seen.get("last_modified") if loaded else None,
                   session=session)
    if got is None:
        log.info("%s: unchanged since %s, not downloaded again", release.file_name, seen["last_modified"] if seen else "")
        return None
    landed = land(settings.paths.landing, source_id, release.file_name, got.content, release.url, sha256=got.sha256)
    records = {} if landed_records is None else landed_records
    if landed.sha256 not in records and ledger.extract(source_id, landed.sha256) is None:
        records[landed.sha256] = {"url": release.url, "file_name": release.file_name,
                                  "landed_path": str(landed.path), "status": "landed"}
    records.setdefault(landed.sha256, {})["last_modified"] = got.last_modified
    if landed_records is None:
        ledger.record_extracts(source_id, records)
    return {**landed.as_dict(), "period_hint": release.period_hint}


def validation_parameters(
    spec: SourceSpec, layout: str, period_hint: str | None, ledger: Ledger, settings: Settings, vintage: str,
    queued: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run-time parameters of the suite: release period, previous volumes (+/- tolerance), ODS codes.

    The previous volumes are those of the latest extract of the layout before this vintage, loaded
    or ``queued`` (passed, and waiting to be loaded with this file's group).
    """
    parameters: dict[str, Any] = {}
    if period_hint and spec.period_from_name:
        parameters["release_period_start"] = pd.Timestamp(
            f"{period_hint}-01" if len(period_hint) == 7 else f"{period_hint}-01-01"
        )
    previous = previous_extract(ledger.previous_loaded(spec.id, layout, before_vintage=vintage),
                                [item for item in queued or [] if item["layout"] == layout], vintage)
    tolerance = settings.validation.row_count_tolerance
    baseline = previous and (previous.get("newest_period_rows") or previous.get("row_count"))
    if baseline:
        parameters["min_rows"] = int(baseline * (1 - tolerance))
        parameters["max_rows"] = int(baseline * (1 + tolerance)) + 1
        parameters["min_orgs"] = int(previous["org_count"] * (1 - tolerance))
        parameters["max_orgs"] = int(previous["org_count"] * (1 + tolerance)) + 1
    return parameters | known_codes_parameter(spec, settings)


def previous_extract(loaded: dict[str, Any] | None, queued: list[dict[str, Any]], vintage: str | None) -> dict[str, Any] | None:
    """The latest of the ``loaded`` extract and those ``queued`` (in the order they passed) before
    ``vintage``, by the ledger's rule (:meth:`Ledger.previous_loaded`): the latest vintage, then the
    latest recorded; a queued extract will be recorded after every loaded one and those queued before it."""
    before = [(position, item) for position, item in enumerate(queued)
              if not vintage or (item["vintage"] is not None and item["vintage"] < vintage)]
    newest = max(before, key=lambda pair: (*_vintage_rank(pair[1]), pair[0]), default=(0, None))[1]
    if newest is None or (loaded is not None and _vintage_rank(loaded) > _vintage_rank(newest)):
        return loaded
    return newest


def _vintage_rank(extract: dict[str, Any]) -> tuple[bool, str]:
    """How the ledger orders vintages, latest last: a missing vintage before any other."""
    return extract["vintage"] is not None, extract["vintage"] or ""


def known_codes_parameter(spec: SourceSpec, settings: Settings) -> dict[str, Any]:
    """The ODS codes an observation's organisation must be among, once ODS has been loaded."""
    known = reference_codes(settings)
    return {"known_org_codes": known} if known is not None and spec.kind == "observations" else {}


def data_docs_dir(settings: Settings, source_id: str, sha256: str) -> Path:
    """Where an extract's Great Expectations Data Docs site is written."""
    return settings.paths.state / "data_docs" / source_id / sha256


def gx_templates_dir(settings: Settings) -> Path:
    """Where GX's Data Docs templates are kept compiled between reports (and runs)."""
    return settings.paths.state / "gx_templates"


def check_extract(
    spec: SourceSpec,
    parsed: ParsedExtract,
    file_name: str,
    period: str | None,
    ledger: Ledger,
    settings: Settings,
    docs_dir: Path | None = None,
    screened: ScreenedTogether | None = None,
    queued: list[dict[str, Any]] | None = None,
) -> ValidationReport:
    """Run the source's suite over a parsed file with the parameters of its place in the history
    (the volumes before its vintage, the period its file name gives, ODS codes and successors);
    ``screened``: what its batch's screen already made and settled (:class:`_ParsedAhead`); ``queued``:
    see :func:`validation_parameters`."""
    from pipelines.validation.data_docs_templates import keep_compiled_templates
    from pipelines.validation.suites import validate

    if docs_dir is not None:
        keep_compiled_templates(gx_templates_dir(settings))
    return validate(
        parsed.table, source_id=spec.id, layout=parsed.layout, file_name=file_name,
        parameters=validation_parameters(spec, parsed.layout, period, ledger, settings, parsed.vintage, queued),
        docs_dir=docs_dir, successors=successor_map(settings),
        screened=screened,
    )


def newest_period_rows(table: pd.DataFrame) -> int:
    """Rows of the newest period in a file (all rows when it has no periods): the volume baseline.

    A release may restate earlier periods, and a workbook restating five survey years grows as
    measures introduced later gain history; the newest period's rows are what should stay steady.
    """
    if "period_start" not in table.columns or table.empty:
        return int(len(table))
    return int((table["period_start"] == table["period_start"].max()).sum())


def reference_codes(settings: Settings) -> list[str] | None:
    path = settings.paths.state / "ods_known_codes.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def successor_map(settings: Settings) -> dict[str, str]:
    path = settings.paths.state / "ods_successors.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def validate_and_load(
    source_id: str,
    landed_info: dict[str, Any],
    settings: Settings,
    *,
    released_by: str | None = None,
    with_docs: bool | None = False,
) -> Outcome:
    """Parse, validate and load one landed file; quarantine and raise ExtractRejected when it fails.

    ``released_by`` loads a quarantined extract an analyst has released: its findings are kept
    as warnings (they appear in the release manifest) instead of blocking it. Data Docs are
    written for a file that fails, and ``with_docs`` for one that passes (see :func:`check_landed`).
    A batch of files goes through :func:`load_batch` instead, which loads them in groups.
    """
    from pipelines.warehouse.connection import connect

    checked = check_landed(source_id, landed_info, settings, released_by=released_by, with_docs=with_docs)
    if isinstance(checked, Outcome):
        return checked
    with connect(settings, raw_of=source_id) as target:
        return load_passed(target, [checked], settings)[0]


@dataclass(frozen=True)
class Passed:
    """A landed file that passed its checks (or was released by an analyst), ready to be loaded."""

    spec: SourceSpec
    landed: LandedFile
    parsed: ParsedExtract
    findings: list[dict[str, Any]]
    released_by: str | None = None
    reference_state: dict[str, object] = field(default_factory=dict)

    @functools.cached_property
    def ledger_fields(self) -> dict[str, Any]:
        """What the ledger records of it once loaded: its volumes are the next file's baseline."""
        table = self.parsed.table
        return {
            "layout": self.parsed.layout, "vintage": self.parsed.vintage, "periods": self.parsed.periods,
            "row_count": len(table), "newest_period_rows": newest_period_rows(table),
            "org_count": int(table["org_code"].nunique()) if "org_code" in table else len(table),
            "status": "released" if self.released_by else "loaded", "findings": self.findings,
        }


def check_landed(
    source_id: str,
    landed_info: dict[str, Any],
    settings: Settings,
    *,
    released_by: str | None = None,
    with_docs: bool | None = False,
    ahead: _ParsedAhead | None = None,
    queued: list[dict[str, Any]] | None = None,
) -> Passed | Outcome:
    """Parse and validate one landed file: what to load, or an ``already_loaded`` outcome; a file that
    fails is quarantined and :class:`ExtractRejected` raised.

    ``with_docs=None`` decides once the file is parsed: Data Docs when its vintage makes it the
    source's newest extract (:func:`will_be_newest`). A batch passes ``ahead``, which parses its files
    ahead in groups and screens each group's rows in one validation, and ``queued``: the ledger
    fields of the files that passed before this one and wait to be loaded with it (its volume
    baseline may be one of them).
    """
    spec = get_source(source_id)
    landed = LandedFile.from_dict({k: v for k, v in landed_info.items() if k != "period_hint"})
    ledger = Ledger(settings.paths.state)
    known = ledger.extract(source_id, landed.sha256)
    if released_by is None and ((known and known["status"] in {"loaded", "released"})
                                or any(item["sha256"] == landed.sha256 for item in queued or [])):
        log.info("%s: this exact file (sha256 %s) is already loaded; nothing to do", landed.file_name, landed.sha256[:12])
        return Outcome(source_id, landed.file_name, "already_loaded", landed.sha256)
    docs_dir = data_docs_dir(settings, source_id, landed.sha256)
    try:
        parsed, screened = ahead.take(landed) if ahead is not None else (spec.load_parser()(landed.path), None)
    except ParseError as error:
        quarantine(settings, ledger, landed, reason=str(error), findings=[], docs_dir=None)
        raise ExtractRejected(
            f"{landed.file_name} could not be read and was quarantined: {error}. "
            f"The raw file is kept at {settings.paths.quarantine / source_id / landed.sha256}."
        ) from error
    period = landed_info.get("period_hint")
    if with_docs is None:
        with_docs = will_be_newest(source_id, parsed.vintage, ledger)
    # Data Docs are a 4 MB HTML site per run: write them where someone reads them (a quarantined
    # file, or the newest extract a release ships), not for every file of a backfill.
    report = check_extract(spec, parsed, landed.file_name, period, ledger, settings,
                           docs_dir=docs_dir if with_docs else None, screened=screened, queued=queued)
    if not report.passed and released_by is None and not with_docs:
        report = check_extract(spec, parsed, landed.file_name, period, ledger, settings, docs_dir=docs_dir,
                               queued=queued)
    findings = [f.as_dict() for f in report.findings]
    if not report.passed and released_by is None:
        quarantine(settings, ledger, landed, reason=report.summary(), findings=findings, docs_dir=docs_dir,
                   layout=parsed.layout, vintage=parsed.vintage)
        raise ExtractRejected(
            f"{report.summary()}\nThe file was quarantined (nothing was loaded; the last good data stays "
            f"published). Raw bytes, findings and the Data Docs report: "
            f"{settings.paths.quarantine / source_id / landed.sha256}"
        )
    reference_state: dict[str, object] = {}
    if spec.kind == "reference":
        try:
            reference_state = _reference_state(spec, parsed.table, settings)
        except ValueError as error:  # e.g. a succession cycle: the file contradicts itself
            quarantine(settings, ledger, landed, reason=str(error), findings=[], docs_dir=docs_dir,
                       layout=parsed.layout, vintage=parsed.vintage)
            raise ExtractRejected(f"{landed.file_name} was quarantined: {error}") from error
    if released_by is not None:
        for finding in findings:
            finding["severity"] = "warning"
            finding["message"] += f" (released from quarantine by {released_by})"
    return Passed(spec, landed, parsed, findings, released_by, reference_state)


def load_passed(target: Warehouse, passed: list[Passed], settings: Settings) -> list[Outcome]:
    """Load files of one source that passed their checks, in one transaction, then record them in the
    ledger (together) and write what ODS files give the other sources' checks."""
    from pipelines.warehouse.loader import Extract, load_extracts

    if not passed:
        return []
    source_id = passed[0].spec.id
    rows = load_extracts(target, source_id, [
        Extract(item.parsed.table, item.landed.sha256, item.parsed.vintage, item.parsed.layout, item.landed.file_name)
        for item in passed])
    for item in passed:
        for name, content in item.reference_state.items():
            (settings.paths.state / name).write_text(json.dumps(content), encoding="utf-8")
    Ledger(settings.paths.state).record_extracts(source_id, {item.landed.sha256: item.ledger_fields for item in passed})
    outcomes = []
    for item, count in zip(passed, rows, strict=True):
        warnings = tuple(f["message"] for f in item.findings if f["severity"] == "warning")
        log.info("%s: loaded %d rows (vintage %s, layout %s)%s", item.landed.file_name, count, item.parsed.vintage,
                 item.parsed.layout, f"; {len(warnings)} warnings" if warnings else "")
        outcomes.append(Outcome(source_id, item.landed.file_name, "loaded", item.landed.sha256, count, warnings))
    return outcomes


def _reference_state(spec: SourceSpec, table: pd.DataFrame, settings: Settings) -> dict[str, object]:
    """What other sources' validation needs from ODS: known codes, and successors resolved."""
    state: Path = settings.paths.state
    if spec.id == "ods_trusts":
        known_file = state / "ods_known_codes.json"
        known = set(json.loads(known_file.read_text(encoding="utf-8"))) if known_file.exists() else set()
        return {"ods_known_codes.json": sorted(known | set(table["org_code"].astype(str)))}
    from pipelines.parsers.ods import find_splits, resolve_successors

    pairs = list(zip(table["old_code"].astype(str), table["new_code"].astype(str), strict=True))
    splits = find_splits(pairs)
    if splits:
        log.warning("ODS successors: %d organisations split into several successors (kept under their own "
                    "codes): %s", len(splits), ", ".join(f"{old} -> {'/'.join(new)}" for old, new in splits.items()))
    return {"ods_successors.json": resolve_successors(pairs)}


def fetch_and_land_all(
    source_id: str, links: list[dict[str, str | None]], settings: Settings, progress: Callable[[str], Any] = log.info
) -> list[dict[str, Any]]:
    """Download and land every planned file; only new or changed ones are returned (in plan order)."""
    landed = []
    # The landed files are recorded in the ledger together, in one short transaction at the end (one
    # each cost a commit per file, 1 s of a full refresh's thousand), and also when a download fails:
    # the files landed before it are kept and recorded.
    records: dict[str, dict[str, Any]] = {}
    try:
        with publisher_session(settings.publisher) as session:
            for number, link in enumerate(links, start=1):
                got = fetch_and_land(source_id, link, settings, session=session, landed_records=records)
                if got is not None:
                    progress(f"[{number}/{len(links)}] {source_id}: downloaded {link['file_name']}")
                    landed.append(got)
    finally:
        if records:
            Ledger(settings.paths.state).record_extracts(source_id, records)
    progress(f"{source_id}: {len(landed)} of {len(links)} files new or changed since the last download")
    return landed


def batches(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Consecutive groups of at most ``size`` files: one validate-and-load task each."""
    size = max(1, size)
    return [items[start:start + size] for start in range(0, len(items), size)]


def load_batch(
    source_id: str, landed_files: list[dict[str, Any]], settings: Settings, progress: Callable[[str], Any] = log.info
) -> list[Outcome | ExtractRejected]:
    """Validate files in order and load those that pass, in groups, through one warehouse connection.

    A rejected file is quarantined and reported but does not stop the files after it: each file is
    its own extract, and holding back March because February is broken would only delay good data.
    Files that pass wait in a :class:`_LoadQueue` and are loaded together; the newest loaded extract
    then gets its Data Docs for the release (see :func:`write_latest_docs`).
    """
    from pipelines.warehouse.connection import BatchConnection

    spec = get_source(source_id)
    results: dict[int, Outcome | ExtractRejected] = {}
    newest = newest_in_batch(source_id, landed_files, Ledger(settings.paths.state))
    # A routine refresh's one new file is judged by the vintage it states once parsed, exact even
    # when its name states no period (the ODS files), where guessing would validate it twice.
    alone = len(landed_files) == 1
    ahead = None if alone else _ParsedAhead(spec, landed_files, settings)
    if landed_files:
        with BatchConnection(settings, raw_of=source_id) as warehouse:
            queue = _LoadQueue(warehouse, settings, len(landed_files), progress)
            try:
                for number, landed in enumerate(landed_files, start=1):
                    try:
                        checked = check_landed(source_id, landed, settings, ahead=ahead, queued=queue.entries,
                                               with_docs=None if alone else number - 1 == newest)
                    except ExtractRejected as rejected:
                        progress(f"[{number}/{len(landed_files)}] {source_id}: {rejected}")
                        results[number] = rejected
                        checked = None
                    if isinstance(checked, Outcome):
                        progress(f"[{number}/{len(landed_files)}] {source_id}: {checked.file_name} {checked.status}")
                        results[number] = checked
                    elif checked is not None:
                        queue.add(number, checked)
                    # What an ODS file gives the next file's checks is written once it is loaded.
                    if spec.kind == "reference" or queue.rows >= LOAD_ROWS or warehouse.others_waiting():
                        results.update(queue.load())
                        warehouse.hand_over_if_wanted()
            finally:
                results.update(queue.load())  # what passed is loaded, even when a later file raised
    write_latest_docs(source_id, settings)
    return [results[number] for number in sorted(results)]


#: Rows of the files that passed their checks held at most before they are loaded together.
LOAD_ROWS = 25_000


class _LoadQueue:
    """The files of a batch that passed their checks, waiting to be loaded together.

    One transaction per file cost more than the rows did: the Friends and Family Test's 420 small
    files took 6-8 s to load one by one and 1 s in groups of 50 (benchmarks/FINDINGS.md, section 21).
    A queued file is not yet in the ledger, so a later file's volume checks read its volumes from
    here (:func:`validation_parameters`), as they would have from the ledger.
    """

    def __init__(self, warehouse: BatchConnection, settings: Settings, total: int,
                 progress: Callable[[str], Any]) -> None:
        self._warehouse, self._settings, self._total, self._progress = warehouse, settings, total, progress
        self._queued: list[tuple[int, Passed]] = []
        #: Each queued file's ledger fields (its hash among them), in the order the files passed.
        self.entries: list[dict[str, Any]] = []
        self.rows = 0

    def add(self, number: int, passed: Passed) -> None:
        self._queued.append((number, passed))
        self.entries.append({**passed.ledger_fields, "sha256": passed.landed.sha256})
        self.rows += len(passed.parsed.table)

    def load(self) -> dict[int, Outcome]:
        """Load the queued files in one transaction and record them; each one's outcome by its number."""
        queued, self._queued, self.entries, self.rows = self._queued, [], [], 0
        if not queued:
            return {}
        numbers = [number for number, _ in queued]
        outcomes = load_passed(self._warehouse.get(), [passed for _, passed in queued], self._settings)
        for number, outcome in zip(numbers, outcomes, strict=True):
            self._progress(f"[{number}/{self._total}] {outcome.source_id}: {outcome.file_name} loaded, {outcome.rows} rows")
        return dict(zip(numbers, outcomes, strict=True))


#: Rows parsed ahead at most, to be screened together: stacked, they stay well under the memory a
#: routine ingest uses (a workforce file has about 45,000 rows).
SCREEN_ROWS = 250_000


class _ParsedAhead:
    """A batch's files parsed ahead, and the row-wise checks of each layout screened in one GX run.

    :func:`load_batch` still validates and loads the files one by one, in order, each with the
    checks of the extract as a whole (its volumes against the file loaded before it, its release
    period, its uniqueness). The checks of each row on its own, most of a suite, do not depend on
    the other files, so the files parsed ahead (up to :data:`SCREEN_ROWS` rows) are grouped by
    layout and shape and each group is screened for them at once
    (:func:`pipelines.validation.suites.screen_row_checks_together`): a check a group fails runs
    once more over the group, and each file gets its own offending rows, so the findings name them.
    A file that cannot be parsed is raised when its turn comes, as if parsed then.
    """

    def __init__(self, spec: SourceSpec, landed_files: list[dict[str, Any]], settings: Settings) -> None:
        self._spec, self._settings = spec, settings
        self._waiting = list(landed_files)
        self._ready: dict[str, tuple[ParsedExtract | Exception, ScreenedTogether | None]] = {}

    def take(self, landed: LandedFile) -> tuple[ParsedExtract, ScreenedTogether | None]:
        """The file's parsed extract, and what its group's screen made and found (None when the
        file was not screened with others)."""
        if landed.sha256 not in self._ready:
            self._parse_ahead()
        parsed, screened = self._ready.pop(landed.sha256, (None, None))
        if parsed is None:  # not among the files planned: parsed on its own
            return self._spec.load_parser()(landed.path), None
        if isinstance(parsed, Exception):
            raise parsed
        return parsed, screened

    def _parse_ahead(self) -> None:
        from pipelines.validation.suites import prepare_frame, same_shape, screen_row_checks_together

        parsed_ahead: list[tuple[str, ParsedExtract]] = []
        rows = 0
        while self._waiting and (not parsed_ahead or rows < SCREEN_ROWS):
            landed = LandedFile.from_dict({k: v for k, v in self._waiting.pop(0).items() if k != "period_hint"})
            try:
                parsed = self._spec.load_parser()(landed.path)
            except Exception as error:  # noqa: BLE001 - raised at the file's turn, as if parsed then
                self._ready[landed.sha256] = (error, None)
                continue
            self._ready[landed.sha256] = (parsed, None)
            parsed_ahead.append((landed.sha256, parsed))
            rows += len(parsed.table)
        groups: list[list[tuple[str, ParsedExtract]]] = []
        for sha256, parsed in parsed_ahead:
            group = next((g for g in groups if g[0][1].layout == parsed.layout
                          and same_shape([g[0][1].table, parsed.table])), None)
            if group is None:
                groups.append([(sha256, parsed)])
            else:
                group.append((sha256, parsed))
        successors = successor_map(self._settings)
        for group in groups:
            if len(group) > 1:
                screened = screen_row_checks_together(
                    [prepare_frame(parsed.table, successors) for _, parsed in group],
                    source_id=self._spec.id, layout=group[0][1].layout,
                    parameters=known_codes_parameter(self._spec, self._settings))
                self._ready.update({sha256: (parsed, own)
                                    for (sha256, parsed), own in zip(group, screened, strict=True)})


def newest_in_batch(source_id: str, landed_files: list[dict[str, Any]], ledger: Ledger) -> int | None:
    """The position of the file that will be the source's newest extract once the batch is loaded,
    judged by the period its file name states; None when a name states none.

    That file is validated with its Data Docs the first time, instead of again afterwards by
    :func:`write_latest_docs` (a second parse and validation: a third of a routine monthly
    ingest). Should the guess be wrong (a file restating an older period, say), that function
    still writes the report the release ships.
    """
    from pipelines.fetch import period_hint

    hints = [landed.get("period_hint") for landed in landed_files]
    if not hints or any(hint is None for hint in hints):
        return None
    position = max(range(len(hints)), key=lambda index: (str(hints[index]), index))
    latest = ledger.latest_loaded().get(source_id)
    loaded_hint = period_hint(str(latest["file_name"])) if latest else None
    if loaded_hint is not None and str(hints[position]) < loaded_hint:
        return None
    return position


def will_be_newest(source_id: str, vintage: str | None, ledger: Ledger) -> bool:
    """Whether an extract of this vintage, once loaded, is the source's newest by the rule
    :meth:`Ledger.latest_loaded` applies (vintage, then the latest loaded on a tie)."""
    latest = ledger.latest_loaded().get(source_id)
    return latest is None or str(vintage or "") >= str(latest.get("vintage") or "")


def as_records(results: list[Outcome | ExtractRejected]) -> list[dict[str, Any]]:
    """Plain dicts (for XCom and JSON): an outcome's fields, or a quarantined file's message."""
    return [
        result.as_dict() if isinstance(result, Outcome) else {"status": "quarantined", "message": str(result)}
        for result in results
    ]


def raise_for_rejections(source_id: str, records: list[dict[str, Any]]) -> None:
    """After the good files are loaded: fail with every quarantined file's message, if any."""
    rejected = [record["message"] for record in records if record["status"] == "quarantined"]
    if rejected:
        loaded = sum(1 for record in records if record["status"] == "loaded")
        raise ExtractRejected(
            f"{source_id}: {len(rejected)} of {len(records)} files were quarantined and {loaded} loaded; "
            "the quarantined files need an analyst:\n\n" + "\n\n".join(rejected)
        )


def write_latest_docs(source_id: str, settings: Settings) -> Path | None:
    """Data Docs for the newest loaded extract of a source, which the next release ships.

    Passing files are validated without Data Docs (see :func:`validate_and_load`); this validates
    the newest one again with its HTML report when it has none yet, with the parameters it was
    checked with then (the volumes before its vintage, the period its file name gives).
    """
    from pipelines.fetch import period_hint

    ledger = Ledger(settings.paths.state)
    latest = ledger.latest_loaded().get(source_id)
    if latest is None:
        return None
    docs_dir = data_docs_dir(settings, source_id, str(latest["sha256"]))
    if (docs_dir / "index.html").exists():
        return docs_dir
    spec = get_source(source_id)
    file_name = str(latest["file_name"])
    try:
        parsed = spec.load_parser()(Path(str(latest["landed_path"])))
    except (ParseError, OSError) as error:  # loaded once, so this is unexpected: say so, keep going
        log.warning("%s: no validation report for the release, the landed file could not be read again: %s",
                    file_name, error)
        return None
    check_extract(spec, parsed, file_name, period_hint(file_name), ledger, settings, docs_dir=docs_dir)
    return docs_dir


def ingest_source(
    source_id: str,
    settings: Settings,
    since: str | None = None,
    until: str | None = None,
    progress: Callable[[str], Any] = print,
    pinned: list[str] | None = None,
) -> list[Outcome | ExtractRejected]:
    """Everything for one source without Airflow (CLI backfill): returns outcomes and rejections.

    ``pinned`` addresses replace discovery, for a file the analyst names by hand.
    """
    links = plan(source_id, settings, since, until, pinned=pinned)
    landed = fetch_and_land_all(source_id, links, settings, progress)
    changed = {str(item["url"]) for item in landed}
    unchanged: list[Outcome | ExtractRejected] = [
        Outcome(source_id, str(link["file_name"]), "unchanged") for link in links if link["url"] not in changed
    ]
    return unchanged + load_batch(source_id, landed, settings, progress)
