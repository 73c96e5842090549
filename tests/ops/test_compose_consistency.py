"""docker-compose.yml, .env.example and the Dockerfile agree with each other and with the project.

No Docker engine runs on CI, so the deployment is checked statically: the services of Airflow 3's
official layout with their health checks, every file and mount source the compose file names,
every variable it interpolates, every command it runs (Airflow and culture-outcomes subcommands are
checked against the real parsers), and the settings it gives the pipeline, read back through
``pipelines.config.load_settings``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

OFFICIAL_SERVICES = {
    "postgres",
    "redis",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
AIRFLOW_SERVICES = {name for name in OFFICIAL_SERVICES if name.startswith("airflow-")}
# Services that run once and exit: the others wait for them with service_completed_successfully,
# so a health check does not apply (as in the official compose file).
ONE_OFF_SERVICES = {"airflow-init"}

DATA_MOUNTS = {"/data/landing", "/data/quarantine", "/data/published"}
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|_KEY)$|^AIRFLOW_CONN_")
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)
ONLY_INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?][^}]*)?\}$")

# Executables a command may start with, and where each comes from in the images.
SHELL_BUILTINS = {"set", "echo", "exec", "export", "cd", "test", "[", "true", "exit"}
BASE_IMAGE_TOOLS = {"bash", "sh", "python", "mkdir", "chown", "chmod", "cat"}  # python:3.11-slim (Debian)
DOCKERFILE_INSTALLS = {  # executable -> what the Dockerfile must install for it
    "curl": "curl",  # apt-get
}
SERVICE_IMAGE_TOOLS = {"postgres": {"pg_isready", "psql"}, "redis": {"redis-cli"}}


# --- helpers ---------------------------------------------------------------------------------------

def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert "=" in line, f".env.example line {number} is not NAME=value: {line!r}"
        name, value = line.split("=", 1)
        assert name not in values, f".env.example defines {name} twice"
        values[name] = value
    return values


def interpolated_names(text: str) -> set[str]:
    return {m["braced"] or m["bare"] for m in INTERPOLATION.finditer(text) if m.group(0) != "$$"}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation (``$$``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ...)."""

    def replace(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m["braced"] or m["bare"], m["op"], m["arg"]
        value = env.get(name)
        if op in (":-", ":?") and not value or op in ("-", "?") and value is None:
            if op.endswith("?"):
                raise AssertionError(f"required variable {name} is unset: {arg}")
            return arg
        return value or ""

    return INTERPOLATION.sub(replace, text)


def strings(node) -> list[str]:
    """Every string value in a parsed YAML tree (compose interpolates values, not keys)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def mounts(service: dict) -> list[dict]:
    """Volumes in long form: type, source, target, read_only, create_host_path."""
    result = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            source, target = parts[0], parts[1]
            mode = parts[2] if len(parts) > 2 else "rw"
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            result.append({"type": kind, "source": source, "target": target,
                           "read_only": "ro" in mode.split(","), "create_host_path": kind == "bind"})
        else:
            result.append({"type": volume["type"], "source": volume.get("source"), "target": volume["target"],
                           "read_only": bool(volume.get("read_only")),
                           "create_host_path": bool((volume.get("bind") or {}).get("create_host_path"))})
    return result


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script (heredoc bodies are data, not commands)."""
    commands, heredoc_end = [], None
    for raw in script.splitlines():
        line = raw.strip()
        if heredoc_end is not None:
            if line == heredoc_end:
                heredoc_end = None
            continue
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        if heredoc:
            heredoc_end, line = heredoc.group(1), line[: heredoc.start()]
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"\|\||&&|;|\|", line):
            words = shlex.split(part)
            if words:
                commands.append(words)
    return commands


def service_commands(service: dict, env: dict[str, str]) -> list[list[str]]:
    """What a service runs: its command and its health check, shell scripts split into commands."""
    found = []
    command = service.get("command")
    if isinstance(command, str):
        command = shlex.split(command)
    if command:
        command = [interpolate(word, env) for word in command]
        if command[0] in ("bash", "sh") and "-c" in command:
            found += [[command[0]]] + shell_commands(command[command.index("-c") + 1])
        else:
            found.append(command)
    test = (service.get("healthcheck") or {}).get("test")
    if test:
        if isinstance(test, str):
            test = ["CMD-SHELL", test]
        test = [interpolate(word, env) for word in test]
        found += shell_commands(" ".join(test[1:])) if test[0] == "CMD-SHELL" else [test[1:]]
    return found


# --- fixtures --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compose() -> dict:
    assert COMPOSE_FILE.is_file(), "docker-compose.yml is missing"
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def example() -> dict[str, str]:
    return env_example()


@pytest.fixture(scope="module")
def airflow_env(services, example) -> dict[str, str]:
    """The environment every Airflow container gets, interpolated with the .env.example values."""
    return {name: interpolate(value, example) for name, value in environment(services["airflow-scheduler"]).items()}


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def airflow_facts(tmp_path_factory) -> dict:
    """Airflow's real CLI tree (groups, subcommands, options) and the DAGs' pool and notifier ids, read in
    a fresh interpreter with a throw-away AIRFLOW_HOME and the project's Airflow environment."""
    from pipelines.airflow_env import airflow_environment

    home = tmp_path_factory.mktemp("airflow_home")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env = airflow_environment(airflow_home=home, base=base)
    script = """
import argparse, json
from airflow.cli.cli_parser import get_parser
import dags._wiring as wiring

def walk(parser):
    node = {"options": sorted(o for a in parser._actions for o in a.option_strings), "sub": {}}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                node["sub"][name] = walk(sub)
    return node

print("FACTS=" + json.dumps({"cli": walk(get_parser()), "notifier_conn_id": wiring.NOTIFIER_CONN_ID,
                            "warehouse_pool": wiring.WAREHOUSE_POOL}))
"""
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("FACTS="))
    return json.loads(line.removeprefix("FACTS="))


# --- the layout ------------------------------------------------------------------------------------

def test_every_service_of_the_official_airflow3_layout_exists_with_a_healthcheck(services):
    assert OFFICIAL_SERVICES <= set(services), f"missing services: {OFFICIAL_SERVICES - set(services)}"
    for name in OFFICIAL_SERVICES - ONE_OFF_SERVICES:
        test = (services[name].get("healthcheck") or {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    for name in ONE_OFF_SERVICES:
        assert services[name].get("restart", "no") == "no"
        for other in AIRFLOW_SERVICES - ONE_OFF_SERVICES:
            assert services[other]["depends_on"][name]["condition"] == "service_completed_successfully", other


def test_components_run_the_expected_airflow_commands_and_checks(services):
    assert services["airflow-apiserver"]["command"] == ["airflow", "api-server"]
    assert "8080:8080" in services["airflow-apiserver"]["ports"]
    assert "http://localhost:8080/api/v2/version" in services["airflow-apiserver"]["healthcheck"]["test"]
    assert services["airflow-scheduler"]["command"] == ["airflow", "scheduler"]
    assert services["airflow-dag-processor"]["command"] == ["airflow", "dag-processor"]
    assert services["airflow-triggerer"]["command"] == ["airflow", "triggerer"]
    assert services["airflow-worker"]["command"] == ["airflow", "celery", "worker"]
    worker_check = " ".join(services["airflow-worker"]["healthcheck"]["test"])
    assert "celery --app airflow.providers.celery.executors.celery_executor.app inspect ping" in worker_check
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name in AIRFLOW_SERVICES - ONE_OFF_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy", name


def test_airflow_init_migrates_and_creates_the_dags_pool_through_the_project_cli(services, airflow_facts,
                                                                                monkeypatch):
    import pipelines.cli

    init = services["airflow-init"]
    script = init["command"][init["command"].index("-c") + 1]
    assert ["culture-outcomes", "setup"] in shell_commands(script)
    # What `culture-outcomes setup` asks of Airflow (in one process): the migration and the pool the DAGs run in.
    from dags._airflow_setup import airflow_commands, main

    calls = []
    monkeypatch.setattr(pipelines.cli, "_run_with_airflow", lambda command, **kwargs: calls.append(command))
    pipelines.cli.airflow_metadata(pool_slots=8)
    assert [command[1:3] for command in calls] == [["-m", "dags._airflow_setup"]]
    slots = int(calls[0][calls[0].index("--pool-slots") + 1])
    commands = airflow_commands(slots, reserialize="--reserialize" in calls[0])
    assert ["db", "migrate"] in commands
    pools = [command[2] for command in commands if command[:2] == ["pools", "set"]]
    assert pools == [airflow_facts["warehouse_pool"]], "setup must create the pool the DAGs use"
    with pytest.raises(SystemExit):  # the module's own arguments are the ones passed
        main(["--help"])


def test_the_admin_login_comes_from_env_through_simple_auth_manager(services):
    init, api = services["airflow-init"], services["airflow-apiserver"]
    env = environment(init)
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "${_AIRFLOW_WWW_USER_USERNAME:-airflow}:admin"
    assert ONLY_INTERPOLATION.match(env["_AIRFLOW_WWW_USER_PASSWORD"]), "the UI password must come from .env"
    script = init["command"][init["command"].index("-c") + 1]
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in script and "_AIRFLOW_WWW_USER_PASSWORD" in script
    # init writes the passwords file where the api-server reads it: one named volume in both.
    folder = str(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).parent)
    for service in (init, api):
        assert environment(service)["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == \
            env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
        assert any(m["type"] == "volume" and m["target"] == folder for m in mounts(service))


def test_workers_can_be_scaled(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker, (
        "`docker compose up --scale airflow-worker=3` needs workers without a fixed name or host port"
    )
    assert "--scale airflow-worker=" in COMPOSE_FILE.read_text(encoding="utf-8"), "document how to scale"


def test_every_airflow_component_is_built_from_the_repo_with_the_same_environment(services):
    reference = environment(services["airflow-scheduler"])
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["build"]["context"] == ".", name
        assert service["build"]["dockerfile"] == "Dockerfile", name
        missing = set(reference) - set(environment(service))
        assert not missing, f"{name} lacks {missing}"


# --- files, mounts, variables ----------------------------------------------------------------------

def test_build_context_dockerfile_and_copied_files_exist(services, dockerfile):
    for name, service in services.items():
        if "build" not in service:
            continue
        context = ROOT / service["build"]["context"]
        assert context.is_dir(), f"{name}: build context {context} is missing"
        assert (context / service["build"].get("dockerfile", "Dockerfile")).is_file(), name
    for line in dockerfile.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            for source in words[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repo"


def test_the_image_installs_the_lock_and_the_project_with_telemetry_off(dockerfile):
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)
    assert re.search(r"pip install -r requirements\.lock", dockerfile)
    assert re.search(r"pip install --no-deps -e \.", dockerfile)
    for directory in ("dags", "dbt_project", "expectations", "config", "pipelines"):
        assert re.search(rf"^COPY {directory}/ {directory}/$", dockerfile, re.M), directory
    for setting in ("DO_NOT_TRACK=1", "AIRFLOW__COSMOS__ENABLE_TELEMETRY=False", "PYTHONPATH=/opt/culture-outcomes"):
        assert setting in dockerfile, setting


def test_the_lock_carries_the_celery_provider_the_executor_needs(airflow_env):
    """The CeleryExecutor (`airflow celery worker`) comes from the lock, as every other package does:
    the image and .venv have the same one, and the worker's commands are checked against it."""
    assert airflow_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    pins = dict(line.split("==", 1) for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
                if "==" in line and not line.startswith(" "))
    assert "apache-airflow-providers-celery" in pins and "celery" in pins
    assert importlib.metadata.version("apache-airflow-providers-celery") == pins["apache-airflow-providers-celery"]


def test_every_mount_source_exists_and_named_volumes_are_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()}
    for name, service in services.items():
        for mount in mounts(service):
            if mount["type"] == "volume":
                assert mount["source"] in declared, f"{name}: volume {mount['source']} is not declared"
                continue
            source = (ROOT / mount["source"]).resolve()
            relative = source.relative_to(ROOT).as_posix()
            if source.exists():
                continue
            # Build output compose creates on the host (long syntax, create_host_path): git-ignored.
            assert mount["create_host_path"] and source.parent.is_dir(), f"{name}: {mount['source']} is missing"
            assert f"{relative}/" in ignored or relative in ignored, f"{relative} should be git-ignored"


def test_dags_and_dbt_project_are_mounted_read_only_and_data_on_named_volumes(services, dockerfile):
    project = re.search(r"PYTHONPATH=(\S+)", dockerfile).group(1)
    for name in AIRFLOW_SERVICES:
        by_target = {m["target"]: m for m in mounts(services[name])}
        for directory in ("dags", "dbt_project"):
            mount = by_target[f"{project}/{directory}"]
            assert mount["type"] == "bind" and mount["read_only"], f"{name}: {directory} must be read-only"
            assert (ROOT / mount["source"]).resolve() == ROOT / directory
        for target in DATA_MOUNTS:
            assert by_target[target]["type"] == "volume", f"{name}: {target} must be a named volume"
    postgres = {m["target"]: m for m in mounts(services["postgres"])}
    assert postgres["/var/lib/postgresql/data"]["type"] == "volume", "postgres data on a named volume"


def test_dags_folder_is_where_the_dags_are_mounted(services, airflow_env):
    targets = {m["target"] for m in mounts(services["airflow-dag-processor"])
               if m["type"] == "bind" and (ROOT / m["source"]).resolve() == ROOT / "dags"}
    assert airflow_env["AIRFLOW__CORE__DAGS_FOLDER"] in targets


def test_every_interpolated_variable_is_in_env_example(compose, example):
    used = {name for text in strings(compose) for name in interpolated_names(text)}
    assert used, "the compose file takes its settings from .env"
    missing = used - set(example)
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_env_example_placeholders_are_safe_and_env_is_ignored(example):
    for name, value in example.items():
        if SECRET_NAME.search(name):
            assert value == "" or "change-me" in value, f"{name} in .env.example looks like a real secret"
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()}
    assert ".env" in ignored, ".env (the real secrets) must be git-ignored"


def test_no_secret_is_written_in_the_compose_file(services):
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert ONLY_INTERPOLATION.match(value), f"{name}: {key} must come from .env, not the file"
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert ONLY_INTERPOLATION.match(password), f"{name}: {key} embeds a literal password"


# --- commands --------------------------------------------------------------------------------------

def test_every_command_starts_with_an_executable_the_image_has(services, example, dockerfile):
    console_scripts = {ep.name for ep in importlib.metadata.entry_points(group="console_scripts")}
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.M)  # where BASE_IMAGE_TOOLS come from
    for name, service in services.items():
        for command in service_commands(service, example):
            executable = command[0]
            if executable in SHELL_BUILTINS:
                continue
            if "build" not in service:
                image = service["image"].split(":")[0]
                assert executable in SERVICE_IMAGE_TOOLS.get(image, set()), f"{name} ({image}) runs {executable}"
            elif executable in DOCKERFILE_INSTALLS:
                assert DOCKERFILE_INSTALLS[executable] in dockerfile, f"the Dockerfile must install {executable}"
            else:
                assert executable in console_scripts | BASE_IMAGE_TOOLS, f"{name} runs {executable}: not installed"


def test_airflow_subcommands_and_options_exist(services, example, airflow_facts):
    cli = airflow_facts["cli"]
    checked = 0
    for name, service in services.items():
        for command in service_commands(service, example):
            if command[0] != "airflow":
                continue
            checked += 1
            node, args, path = cli, command[1:], ["airflow"]
            while args and node["sub"]:
                assert args[0] in node["sub"], f"{name}: `{' '.join(path)} {args[0]}` is not an Airflow command"
                path.append(args[0])
                node, args = node["sub"][args[0]], args[1:]
            assert not node["sub"], f"{name}: `{' '.join(path)}` needs a subcommand"
            options = {a.split("=", 1)[0] for a in args if a.startswith("-")}
            assert options <= set(node["options"]), f"{name}: `{' '.join(path)}` has no {options - set(node['options'])}"
    assert checked >= 6


def test_culture_outcomes_subcommands_exist(services, example):
    from pipelines.cli import build_parser

    checked = 0
    for name, service in services.items():
        for command in service_commands(service, example):
            if command[0] == "culture-outcomes":
                checked += 1
                try:
                    build_parser().parse_args(command[1:])
                except SystemExit as error:
                    pytest.fail(f"{name}: `{' '.join(command)}` is not a valid culture-outcomes command ({error})")
    assert checked >= 1


# --- what the containers are told ------------------------------------------------------------------

def test_executor_is_celery_with_redis_broker_and_postgres_metadata(services, airflow_env):
    assert airflow_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert "@postgres:5432/" in airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert airflow_env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert airflow_env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert airflow_env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert airflow_env["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] == "False"
    assert airflow_env["DO_NOT_TRACK"] == "1"
    api = airflow_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    assert api.startswith("http://airflow-apiserver:8080/"), "workers reach the API server by service name"


def test_pipeline_settings_are_ones_load_settings_reads(airflow_env, services):
    from dataclasses import fields

    from pipelines.config import _SECTIONS, ENV_PREFIX, load_settings

    pipeline_env = {name: value for name, value in airflow_env.items() if name.startswith(ENV_PREFIX)}
    known = {f"{ENV_PREFIX}{section}_{fld.name}".upper(): (section, fld.name)
             for section, cls in _SECTIONS.items() for fld in fields(cls)}
    unread = set(pipeline_env) - set(known)
    assert not unread, f"the compose file sets {sorted(unread)}, which load_settings never reads"

    settings = load_settings(environ=pipeline_env)
    for name, value in pipeline_env.items():
        section, key = known[name]
        assert str(getattr(getattr(settings, section), key)) == value, f"{name} was not applied"
    warehouse = settings.warehouse
    assert warehouse.target == "postgres"
    assert warehouse.postgres_host == "postgres" and warehouse.postgres_host in services
    assert warehouse.postgres_dbname == "culture_outcomes"
    assert warehouse.postgres_port == 5432
    assert warehouse.postgres_password, "the warehouse password reaches the settings"
    assert settings.paths.data_dir == Path("/data")
    assert {str(settings.paths.landing), str(settings.paths.quarantine), str(settings.paths.published)} == DATA_MOUNTS


def test_dbt_postgres_profile_gets_the_compose_warehouse(airflow_env):
    from pipelines.config import load_settings
    from pipelines.transform import dbt_env

    pipeline_env = {name: value for name, value in airflow_env.items() if name.startswith("CULTURE_OUTCOMES_")}
    available = {**airflow_env, **dbt_env(load_settings(environ=pipeline_env))}  # Cosmos adds dbt_env()
    profiles = yaml.safe_load((ROOT / "dbt_project" / "profiles.yml").read_text(encoding="utf-8"))
    postgres = profiles["culture_outcomes"]["outputs"]["postgres"]
    names = {name for text in strings(postgres) for name in re.findall(r"env_var\(\s*['\"](\w+)['\"]", text)}
    assert names, "the postgres profile reads its settings from the environment"
    unset = names - set(available)
    assert not unset, f"dbt's postgres profile reads {sorted(unset)}, which the containers do not set"


def test_notifier_connection_env_matches_the_wiring(airflow_env, airflow_facts):
    conns = [name for name in airflow_env if name.startswith("AIRFLOW_CONN_")]
    assert [name.removeprefix("AIRFLOW_CONN_").lower() for name in conns] == [airflow_facts["notifier_conn_id"]]


def test_compose_config_is_valid_for_docker_compose(example):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed here (no Docker on CI): the static checks above "
                    "stand in for `docker compose config`")
    result = subprocess.run([docker, "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config",
                             "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
