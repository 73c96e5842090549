"""Render benchmarks/README.md from the results of benchmarks/run.py (``run.py --render-only`` re-renders)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

FINDINGS = Path(__file__).with_name("FINDINGS.md")


def _m(results: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    return next((m for m in results["measurements"] if m["name"].startswith(prefix)), None)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    return f"{value}{unit}"


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "**missed**")


def _load_note(results: dict[str, Any]) -> str:
    """Whether the run had the machine to itself, read from the load averages it recorded."""
    loads = [x for m in results["measurements"] for x in (m.get("mean_load_1min") or [])]
    if loads and max(loads) > 3:
        return ("**The machine was shared**: other work ran on the same 2 cores during the run (see the load "
                "column: a 1-minute load average well above 2 means this run got a fraction of the CPUs). Wall "
                "times are therefore pessimistic; the CPU-seconds column (user+sys of all descendant processes) "
                "is less sensitive to that and is the better figure for comparing runs.")
    return ("The run had the machine to itself (1-minute load average at most "
            f"{max(loads) if loads else '?'} on 2 cores: the benchmark's own processes).")


def _speed_note(results: dict[str, Any]) -> str:
    """How fast the machine was during the measured runs, from the reference loop each recorded."""
    loops = [x for m in results["measurements"] for pair in (m.get("reference_loop_seconds") or []) for x in pair]
    if not loops:
        return ""
    return (f"\nThe machine's speed during the runs: a fixed pure-Python loop (`reference_loop_seconds`, timed "
            f"before and after each measured run) took {min(loops)}-{max(loops)} s. These virtual machines are "
            "shared and their speed drifts (the same loop took 0.14-0.5 s within one session), so compare runs "
            "by their ratio to the floor measured alongside, or by this loop.\n")


def _runner_start(run: dict[str, Any]) -> dict[str, float]:
    """The DAG runner's start as a stage row, when the run recorded it."""
    seconds = run.get("runner_start_seconds")
    return {"Airflow start in the DAG runner (once)": seconds} if seconds else {}


def warm_runs(measurement: dict[str, Any]) -> list[float] | None:
    """Each run of a refresh with Airflow already running, as under a deployment's scheduler: its
    seconds less the DAG runner's start (Airflow's imports and set-up, paid once per process); None
    when a run did not record its start."""
    runs = (measurement.get("details") or {}).get("runs") or []
    starts = [run.get("runner_start_seconds") for run in runs]
    if not runs or None in starts or len(starts) != len(measurement.get("seconds") or []):
        return None
    return [round(total - start, 2) for total, start in zip(measurement["seconds"], starts, strict=True)]


def warm_seconds(measurement: dict[str, Any]) -> float | None:
    """The median of :func:`warm_runs`."""
    runs = warm_runs(measurement)
    return round(statistics.median(runs), 1) if runs else None


def _runs(measurement: dict[str, Any] | None, settings: dict[str, Any], setting: str) -> object:
    """How many runs a measurement's median is over: its own count (a ``--merge`` run keeps
    measurements another command made), else the command's setting."""
    return measurement["runs"] if measurement else settings.get(setting, "?")


def render_readme(results: dict[str, Any]) -> str:
    machine = results["machine"]
    targets = results["targets"]
    settings = results.get("settings", {})
    rows = []
    floor_m = _m(results, "floor_scale1")
    floor_cpu = floor_m.get("median_cpu_seconds") if floor_m else None
    for m in results["measurements"]:
        wall = _fmt(m["median_seconds"], " s")
        if m["name"].startswith("bi_queries") and m.get("details"):
            queries = m["details"].get("queries") or m["details"].get("no_index") or {}
            wall = f"worst p95 {max(q['p95_ms'] for q in queries.values())} ms" if queries else "-"
        cpu_ratio = (m["median_cpu_seconds"] / floor_cpu if floor_cpu and m.get("median_cpu_seconds")
                     and m.get("ratio_to_floor") is not None and not m["name"].startswith("scale_") else None)
        rows.append(
            f"| `{m['name']}` | {wall} | {m['runs']} | {_fmt(m.get('median_cpu_seconds'), ' s')} "
            f"| {_fmt(m['peak_mib'], ' MiB')} | {_fmt(m.get('ratio_to_floor'), 'x')} | {_fmt(cpu_ratio, 'x')} "
            f"| {', '.join(str(x) for x in m.get('mean_load_1min') or []) or '-'} | {'yes' if m.get('ok', True) else 'NO'} |"
        )
    full = _m(results, "full_refresh_scale")
    inc = _m(results, "incremental_refresh_scale")
    parse = _m(results, "dag_parse_dagbag")
    bi = _m(results, "bi_queries_duckdb")
    scales = [m for m in results["measurements"] if m["name"].startswith("scale_")]
    checks = []
    if full:
        checks.append(("full refresh under 5 minutes", f"{_fmt(full['median_seconds'], ' s')}",
                       _verdict(full["median_seconds"] is not None and full["median_seconds"] < targets["full_refresh_seconds"])))
        checks.append(("full refresh within 5x the floor", _fmt(full.get("ratio_to_floor"), "x"),
                       _verdict(full.get("ratio_to_floor") is not None
                                and full["ratio_to_floor"] <= targets["full_refresh_ratio_to_floor"])))
        checks.append(("peak memory under 2 GB at scale 1", _fmt(full["peak_mib"], " MiB"),
                       _verdict(full["peak_mib"] is not None and full["peak_mib"] < targets["peak_mib_scale1"])))
    if inc:
        checks.append(("incremental refresh under 60 s (starting Airflow included)", _fmt(inc["median_seconds"], " s"),
                       _verdict(inc["median_seconds"] is not None and inc["median_seconds"] < targets["incremental_seconds"])))
        warm = warm_seconds(inc)
        if warm is not None:  # (also recorded as incremental_refresh_airflow_running_*)
            checks.append(("incremental refresh under 60 s with Airflow already running (as under a scheduler: "
                           "the runner's start taken off)", _fmt(warm, " s"),
                           _verdict(warm < targets["incremental_seconds"])))
    if len(scales) >= 2:
        last = scales[-1]
        growth = next((v for k, v in last.get("details", {}).items() if k.startswith("growth_vs_scale_")), {})
        checks.append((f"{last['name'].split('_')[1]}x scale no worse than linear (time, memory)",
                       f"time x{growth.get('time')}, memory x{growth.get('memory')} for x{growth.get('linear')} organisations",
                       _verdict(bool(growth) and growth["time"] <= growth["linear"] and growth["memory"] <= growth["linear"])))
    if parse:
        checks.append(("all DAG files load under 2 s", _fmt(parse["median_seconds"], " s"),
                       _verdict(parse["median_seconds"] is not None and parse["median_seconds"] < targets["dag_parse_seconds"])))
    if bi:
        queries = (bi.get("details") or {}).get("queries") or {}
        worst = max(q["p95_ms"] for q in queries.values()) if queries else None
        checks.append(("BI p95 under 50 ms", _fmt(worst, " ms") + f" ({bi.get('details', {}).get('database', '?')})",
                       _verdict(worst is not None and worst < targets["bi_p95_ms"])))
    stage_rows = []
    def peak_of(run: dict[str, Any], name: str) -> str:
        peaks = run.get("step_peak_mib") or {}
        found = peaks.get(name, peaks.get(f"dag {name}", next((v for k, v in peaks.items() if k.endswith(" " + name)),
                                                                None)))
        return _fmt(found, " MiB")

    if full and full.get("details", {}).get("runs"):
        run = full["details"]["runs"][0]
        for name, seconds in {**run.get("setup_seconds", {}), **_runner_start(run), **run.get("dag_seconds", {})}.items():
            stage_rows.append(f"| full: {name} | {_fmt(seconds, ' s')} | {peak_of(run, name)} |")
    if inc and inc.get("details", {}).get("runs"):
        run = inc["details"]["runs"][0]
        for name, seconds in {**_runner_start(run), **run.get("dag_seconds", {})}.items():
            stage_rows.append(f"| incremental: {name} | {_fmt(seconds, ' s')} | {peak_of(run, name)} |")
    for m in scales:
        run = m.get("details", {})
        for name, seconds in (run.get("step_seconds") or {}).items():
            stage_rows.append(f"| {m['name']}: {name} | {_fmt(seconds, ' s')} | - |")
    bi_rows = []
    for label, m in (("DuckDB", bi), ("PostgreSQL", _m(results, "bi_queries_postgres"))):
        if not m or not m.get("details"):
            continue
        variants = {"": m["details"].get("queries")} if label == "DuckDB" else {
            " (no index)": m["details"].get("no_index"), " (indexes)": m["details"].get("with_indexes")}
        for suffix, queries in variants.items():
            for query, q in (queries or {}).items():
                bi_rows.append(f"| {label}{suffix} | {query} | {q['p50_ms']} | {q['p95_ms']} | {q['n']} |")
    scale_rows = []
    for m in scales:
        d = m.get("details", {})
        growth = next((v for k, v in d.items() if k.startswith("growth_vs_scale_")), {})
        scale_rows.append(f"| {m['name']} | {_fmt(m['median_seconds'], ' s')} | {_fmt(m['peak_mib'], ' MiB')} | "
                          f"{_fmt(d.get('floor_seconds'), ' s')} | {_fmt(m.get('ratio_to_floor'), 'x')} | "
                          f"x{growth.get('time')} | x{growth.get('memory')} | x{growth.get('linear')} |")
    parse_rows = []
    if parse:
        for file, seconds in parse.get("details", {}).get("per_file_median_seconds", {}).items():
            parse_rows.append(f"| {file} | {seconds} |")
    findings = FINDINGS.read_text() if FINDINGS.exists() else ""
    packages = ", ".join(f"{k} {v}" for k, v in machine.get("packages", {}).items() if v)
    nl = "\n"
    return f"""# Benchmarks

Generated by `make benchmark` (`.venv/bin/python benchmarks/run.py`) on {results['generated_at']}
(command: `{results.get('command', '')}`). Raw figures: `benchmarks/results.json`. Benchmarks never run in
the test suite and no test asserts on time. `--quick` is a smoke run (scale 1, 1 year, one run each; writes
`results.quick.json` only); `--render-only` re-renders this file from `results.json`.

## Machine

| | |
|---|---|
| CPUs (nproc) | {machine['nproc']} |
| memory | {machine['memory_gib']} GiB |
| CPU model | {machine['cpu_model']} |
| Python | {machine['python']} ({machine['platform']}) |
| code | git {machine.get('git_commit')} |
| packages | {packages} |
| load average at start / end | {machine.get('load_average_at_start')} / {results.get('load_average_at_end', '-')} |

{_load_note(results)}
{_speed_note(results)}
## Method

- **Synthetic publisher**: `build_site(World(scale, years))` written once per (scale, years) under the work
  dir (`--workdir`, outside the repo) and reused; generation time is reported separately. Served over HTTP
  by `pipelines.publisher_server.serve` (in the harness process) exactly as `culture-outcomes demo` does,
  on the same port in every run (`PUBLISHER_PORT`), as a publisher keeps its address: the ingests'
  conditional downloads (`If-Modified-Since`, by URL) then apply to the incremental refresh.
- **One installation**: every Airflow run happens in the same folder (`runs/installation`: data dir and
  `AIRFLOW_HOME`), empty or holding a copy of the state it starts from, and is moved to its own folder
  (`runs/full0`, `runs/incremental0`, ...) afterwards; what a deployment caches by path (dbt's partial
  parse, keyed on the profile and so on the DuckDB file's path) is then kept as it would be.
- **Full refresh** (from empty): a fresh data dir (`CULTURE_OUTCOMES_PATHS_DATA_DIR`) and `AIRFLOW_HOME`
  per run, `CULTURE_OUTCOMES_AIRFLOW_RETRIES=0`; `culture-outcomes setup --dbt-target-path <private>` (dbt
  parse beside one Airflow process for `airflow db migrate`, the pool and `airflow dags reserialize`:
  `dags/_airflow_setup.py`), started by the DAG runner beside its own start (`--setup`), then `airflow
  dags test` of
  every `ingest_<source>`, `transform_marts` and `publish_release` on the embedded default (DuckDB, SQLite),
  in one Airflow process (`dags/_run_dags.py`, what `culture-outcomes demo` runs), as a long-lived
  scheduler with a worker per core would: the ingest DAGs two at a time (each loading its own source's
  raw DuckDB file), then transform, then publish. Memory is sampled once a second by one thread of the
  harness; each step's and each DAG's peak (the process tree while it ran, dbt and any other DAG running
  beside it included) is read from those samples, and the runner is asked not to sample it again.
- **Incremental**: on a copy of the state left by the full refresh, the site plus one new month of every
  monthly source (files of `World(end_month=+1 month)` whose names are new; the ODS reference files
  replaced when their content changed), then every monthly source's ingest DAG, `transform_marts` and
  `publish_release`.
- **Floor** (`benchmarks/floor.py`): the same raw files read from disk with DuckDB `read_csv` (explicit
  VARCHAR schemas, no sniffing) and python-calamine (a process pool of nproc), loaded into one DuckDB file,
  equivalent marts (organisations with peer group and successor, the catalogue's metrics, successor
  attribution of additive metrics), the same benchmark table (every statistic: distribution, rank,
  intervals, significance, funnels and SPC per metric x period x comparator group, computed in the same
  process by the product's own vectorised statistics, `compute_benchmark_table`), the same disclosure
  control, and the same extracts (network-wide and per network member, CSV, Parquet and XLSX, by the
  product's writers across nproc processes). No HTTP, landing, ledger, validation, dbt, Airflow, BI
  snapshot, packs, docs or manifest. Until FINDINGS section 20 the floor computed only the distribution and rank,
  in SQL, and wrote no XLSX: it took about half as long (7 s against 14-16 s, in turns). Ratios are
  pipeline wall time / floor wall time.
- **Peak memory**: the largest sum of PSS (proportional set size) over every descendant process of the
  harness, sampled once a second with psutil (reading PSS makes the kernel walk every mapping of every
  process: sampled five times a second, by the harness and by the runner once per running DAG, it cost
  more CPU than the small DAGs it measured, FINDINGS section 8; a peak shorter than a second can be missed). PSS counts a page shared by several processes (a fork and its
  parent, the libraries every Python process maps) once in all, where a sum of RSS counts it in each; the
  figures before 26 November afternoon (FINDINGS below) were RSS sums. The local publisher thread runs in
  the harness and is not counted.
- **DAG parsing**: `DagBag(dag_folder=dags/)` in a fresh process (time after `import airflow`), and
  `airflow dags report -o json` once.
- **BI queries**: p50/p95 over {settings.get('bi_iterations', '?')} executions (after 10 warm-ups) with
  random parameters on a read-only DuckDB connection (the release's BI snapshot if there is one, else the
  warehouse file), and on PostgreSQL 127.0.0.1:5432 after copying `benchmarks.benchmark_table` and
  `marts.mart_culture_outcomes_dashboard` into a throw-away database (dropped afterwards), without and with
  indexes. Queries: one trust's benchmarks for a metric over time; one metric across the network for a
  period; the dashboard mart for a trust.
- Runs: {_runs(full, settings, 'full_runs')} full, {_runs(inc, settings, 'incremental_runs')} incremental,
  {_runs(floor_m, settings, 'floor_runs')} floor, {_runs(parse, settings, 'parse_runs')} DAG-parse, one per scale factor
  (scale series on {settings.get('scale_years', '?')} year(s) of history rather than
  {settings.get('years', '?')}, to fit the time available). Medians are over those runs.

## Targets

| target | measured | verdict |
|---|---|---|
{nl.join(f'| {a} | {b} | {c} |' for a, b, c in checks)}

## Results

| measurement | median wall | runs | median CPU | peak memory | ratio to floor (wall) | ratio to floor (CPU) | mean load (per run) | completed without failures |
|---|---|---|---|---|---|---|---|---|
{nl.join(rows)}

### Where the full and incremental refresh spend their time

| step | seconds | peak memory of the step (when recorded) |
|---|---|---|
{nl.join(stage_rows)}

### Scale series

| run | wall | peak memory | floor | ratio to floor | time growth | memory growth | organisations growth |
|---|---|---|---|---|---|---|---|
{nl.join(scale_rows)}

### BI query latency (ms)

| engine | query | p50 | p95 | n |
|---|---|---|---|---|
{nl.join(bi_rows)}

### DAG files (median seconds per file, DagBag)

| file | seconds |
|---|---|
{nl.join(parse_rows)}

{findings}
"""
