"""The transform DAG's dbt operator on DuckDB: Cosmos's ``dbt build``, run in a fork of the task.

Defines no DAG (listed in ``.airflowignore``).
"""

from __future__ import annotations

import os
import signal
from typing import Any

from cosmos.hooks.subprocess import FullOutputSubprocessResult
from cosmos.operators.local import DbtBuildLocalOperator

from pipelines.dbt_in_fork import run_dbt_in_fork


class DbtBuildInForkOperator(DbtBuildLocalOperator):
    """Cosmos's ``dbt build`` in a subprocess, with dbt run in a fork of the task's process rather than
    a new ``dbt`` process (:mod:`pipelines.dbt_in_fork`): a worker that has imported dbt does not
    import it again for every build. Output, exit status and failure handling are Cosmos's own."""

    _child: int | None = None

    def run_subprocess(self, command: list[str], env: dict[str, str], cwd: str,
                       **kwargs: Any) -> FullOutputSubprocessResult:
        self.log.info("Running dbt in a fork of this process: %s (in %s)", command, cwd)
        lines: list[str] = []
        context = {"project_dir": cwd, **kwargs}

        def on_line(line: str) -> None:
            lines.append(line)
            if self._process_log_line_callable is not None:
                self._process_log_line_callable(line, context)
            else:
                self.log.info("%s", line)

        def on_start(child: int) -> None:
            self._child = child

        code = run_dbt_in_fork(command[1:], env, cwd, on_line, on_start=on_start)
        self._child = None
        self.log.info("dbt exited with return code %s", code)
        return FullOutputSubprocessResult(exit_code=code, output=lines[-1] if lines else "", full_output=lines)

    def on_kill(self) -> None:
        """Stop dbt's process group (as Cosmos stops its subprocess's)."""
        if self._child is not None:
            try:
                os.killpg(self._child, signal.SIGINT if self.cancel_query_on_kill else signal.SIGTERM)
            except ProcessLookupError:
                pass
