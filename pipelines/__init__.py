"""Culture and outcomes benchmarking for NHS regional networks (logic only; no Airflow imports)."""

__version__ = "0.1.0"
