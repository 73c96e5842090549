"""``adapter.dispatch`` for sqlfluff's jinja templater (lint only; dbt has its own).

sqlfluff stands in for ref(), source() and var() but not for ``adapter``, so a macro dispatched
per warehouse would not render. This picks the implementation dbt-duckdb would (``duckdb__``,
else ``default__``) from the macros sqlfluff loaded, so the SQL the embedded default runs is
the SQL that is linted.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context


@pass_context
def dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Any:
    for prefix in ("duckdb__", "default__"):
        if f"{prefix}{macro_name}" in context:
            return context[f"{prefix}{macro_name}"]
    raise KeyError(f"no duckdb__ or default__ implementation of {macro_name} in dbt_project/macros")
