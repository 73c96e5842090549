# The two commands a new user needs: `make run` (the whole pipeline, embedded default) and `make test`.
SHELL := /bin/bash
export DO_NOT_TRACK := 1
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
VENV := .venv/bin

.PHONY: run test setup lint airflow-ui benchmark clean

setup:
	@scripts/bootstrap

run: setup
	$(VENV)/culture-outcomes demo

test: setup
	@scripts/test-services
	$(VENV)/python -m pytest -n 2 --dist loadgroup

lint: setup
	$(VENV)/ruff check .
	$(VENV)/sqlfluff lint dbt_project/models

airflow-ui: setup
	$(VENV)/culture-outcomes setup
	scripts/airflow-ui

benchmark: setup
	$(VENV)/python benchmarks/run.py

clean:
	rm -rf data airflow_home dbt_project/target dbt_project/logs
