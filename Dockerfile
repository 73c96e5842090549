# syntax=docker/dockerfile:1
# The culture-outcomes Airflow image: every Airflow component of docker-compose.yml runs from it
# (api-server, scheduler, dag-processor, triggerer, Celery workers, airflow-init).
#
#   docker compose build            (or: docker build -t culture-outcomes-airflow .)
#
# Python and every library come from the committed lock (requirements.lock), the same one
# scripts/bootstrap installs into .venv, so the containers run what the tests ran.
FROM python:3.11-slim

ARG AIRFLOW_UID=50000

ENV DO_NOT_TRACK=1 \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    SCARF_ANALYTICS=false \
    GX_ANALYTICS_ENABLED=false \
    PYTHONPATH=/opt/culture-outcomes \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow

# curl: the api-server and scheduler health checks (as in the official compose file).
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/culture-outcomes

# Dependencies first (cached until the lock changes).
COPY requirements.lock ./
# The lock carries the Celery provider (celery, kombu, the redis client) the CeleryExecutor needs.
RUN pip install -r requirements.lock

# The project. dags/ and dbt_project/ are also bind-mounted read-only by docker-compose.yml, so a
# DAG or model change needs no rebuild; a change to pipelines/ does.
COPY pyproject.toml README.md ./
COPY pipelines/ pipelines/
COPY dags/ dags/
COPY dbt_project/ dbt_project/
COPY expectations/ expectations/
COPY config/ config/
RUN pip install --no-deps -e .

# A dbt manifest inside the image (the transform DAG renders dbt from it), so the image also works
# without the compose mounts; airflow-init rebuilds it for the configured warehouse target.
RUN CULTURE_OUTCOMES_DUCKDB_PATH=/tmp/parse.duckdb dbt parse \
        --project-dir dbt_project --profiles-dir dbt_project --log-path /tmp/dbt-logs \
    && rm -rf /tmp/dbt-logs /tmp/parse.duckdb

# An unprivileged user, group 0 as in the official Airflow image. The directories below become the
# initial contents (and ownership) of the named volumes docker-compose.yml mounts on them.
RUN useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --no-create-home --shell /bin/bash airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/auth \
        /data/landing /data/quarantine /data/published /data/state /data/warehouse \
        /opt/culture-outcomes/dbt_project/target \
    && chown -R "${AIRFLOW_UID}:0" /opt/airflow /data /opt/culture-outcomes/dbt_project/target \
    && chmod -R g+rwX /opt/airflow /data

USER ${AIRFLOW_UID}
EXPOSE 8080
CMD ["airflow", "version"]
