"""Fixtures shared by the validation tests."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.synthetic import fft as writer
from pipelines.synthetic.world import World

#: The month of the synthetic FFT workbook the validation tests check.
FFT_MONTH = date(2025, 10, 1)


@pytest.fixture(scope="module")
def inpatient(tmp_path_factory: pytest.TempPathFactory):
    """One synthetic inpatient FFT workbook, parsed."""
    from pipelines.parsers import fft

    folder = tmp_path_factory.mktemp("fft")
    setting = writer.SETTINGS_BY_LAYOUT["inpatient"]
    path = writer.render(writer.FftTruth(World(years=1)), setting, FFT_MONTH,
                         folder / writer.file_name(setting, FFT_MONTH))
    return fft.parse(path)


@pytest.fixture
def fft_month() -> date:
    """The month of the :func:`inpatient` workbook."""
    return FFT_MONTH
