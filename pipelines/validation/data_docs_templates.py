"""Great Expectations' Data Docs templates compiled once per installation, not once per report.

GX renders Data Docs with Jinja, and every site build makes new views, each with a Jinja
environment of its own, so each report compiled GX's templates again from source: about 0.25 CPU s
per report, 40% of validating an FFT workbook with its Data Docs (benchmarks/FINDINGS.md, section
14). Jinja keeps compiled templates in a *bytecode cache* when an environment has one;
:func:`keep_compiled_templates` gives every GX view's environment the same cache on disk, in the
installation's state folder. Jinja checks each entry against its template's source and Python's
bytecode version before using it, and writes entries by rename, so processes running side by side
share it safely; the pages rendered are the same.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from jinja2 import FileSystemBytecodeCache
from jinja2.bccache import Bucket

log = logging.getLogger(__name__)

#: The attribute marking GX's view class as already given the cache.
_MARK = "_culture_outcomes_bytecode_cache"


class _TemplateCache(FileSystemBytecodeCache):
    """Jinja's bytecode cache on disk; a template it cannot store (the folder was removed, the disk is
    full) is compiled again next time, never an error in a validation."""

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError as error:
            log.debug("GX template %s not kept compiled: %s", bucket.key, error)


def keep_compiled_templates(directory: Path) -> None:
    """From now on in this process, GX's Data Docs views load compiled templates from ``directory``
    (and store there those compiled for the first time). Calling it again moves the cache to
    ``directory``; should a GX upgrade rename its view class, reports are rendered as before."""
    try:
        from great_expectations.render.view.view import DefaultJinjaView
    except ImportError:
        return
    cache = _TemplateCache(str(directory))
    installed = DefaultJinjaView.__dict__.get(_MARK)
    if installed is not None:
        installed["cache"] = cache
        return
    shared: dict[str, Any] = {"cache": cache}
    build = DefaultJinjaView.__init__

    @functools.wraps(build)
    def with_cache(view: Any, *args: Any, **kwargs: Any) -> None:
        build(view, *args, **kwargs)
        view.env.bytecode_cache = shared["cache"]

    DefaultJinjaView.__init__ = with_cache  # type: ignore[method-assign]
    setattr(DefaultJinjaView, _MARK, shared)
