"""A batch's extracts screened together for the checks of each row give every extract exactly the
findings it gets validated on its own (pipelines.validation.suites.screen_row_checks_together).

The extracts are a year of synthetic Friends and Family Test A&E workbooks; one of four is spoilt
in each way an analyst meets, and each extract's report, with and without the screen, is compared.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from pipelines.sources.catalogue import get_source
from pipelines.validation.suites import (
    STACKED_EXTRACT,
    is_row_wise,
    load_suite,
    prepare_frame,
    same_shape,
    screen_row_checks_together,
    stacked_form,
    validate,
)

SOURCE, LAYOUT = "fft", "ae"


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> list[tuple[str, pd.DataFrame]]:
    """Four months of A&E workbooks, parsed: (file name, table)."""
    import re

    from pipelines.synthetic.site import build_site
    from pipelines.synthetic.world import World

    root = tmp_path_factory.mktemp("site")
    build_site(World(years=1), root, sources=[SOURCE], progress=lambda _: None)
    spec = get_source(SOURCE)
    pattern = re.compile(spec.link_pattern)
    found = []
    for path in sorted((root / spec.page_path).iterdir()):
        if pattern.search(path.name) and (parsed := spec.load_parser()(path)).layout == LAYOUT:
            found.append((path.name, parsed.table))
    assert len(found) >= 4, "the synthetic publisher wrote fewer than four A&E workbooks"
    return found[:4]


def _first(table: pd.DataFrame, unit: str | None = None, suppressed: bool | None = None) -> int:
    rows = table.index
    if unit is not None:
        rows = rows[(table["unit"] == unit).to_numpy()]
    if suppressed is not None:
        rows = rows[(table.loc[rows, "suppressed"] == suppressed).to_numpy()]
    assert len(rows), f"no row with unit={unit} suppressed={suppressed}"
    return int(rows[0])


def _set(column: str, value: object, **where: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def spoil(table: pd.DataFrame) -> pd.DataFrame:
        table = table.copy()
        table.loc[_first(table, **where), column] = value
        return table
    return spoil


def _duplicate_a_row(table: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([table, table.iloc[[0]]], ignore_index=True)


def _unknown_org(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    table.loc[0, "org_code"] = "ZZZ99"  # a well-formed code ODS does not know (a warning)
    return table


SPOILS: dict[str, Callable[[pd.DataFrame], pd.DataFrame] | None] = {
    "nothing": None,
    "not an ODS code": _set("org_code", "not a code"),
    "no measure": _set("measure", None),
    "a negative count": _set("numerator", -3.0, unit="fraction", suppressed=False),
    "a share above 1": _set("value", 1.5, unit="fraction", suppressed=False),
    "a value in a suppressed cell": _set("value", 12.0, suppressed=True),
    "an unknown suppression token": _set("suppression_token", "x"),
    "a repeated row": _duplicate_a_row,
    "an organisation ODS does not know": _unknown_org,
}


def _parameters(tables: list[pd.DataFrame], file_index: int) -> dict[str, object]:
    """What ingest passes: ODS codes for the batch, the release period for the file."""
    known = sorted(set().union(*(set(t["org_code"]) for t in tables)) - {"ZZZ99", "not a code"})
    return {"known_org_codes": known, "release_period_start": tables[file_index]["period_start"].max()}


@pytest.mark.parametrize("spoil", list(SPOILS), ids=list(SPOILS))
def test_screened_together_each_extract_gets_the_findings_it_gets_alone(tables, spoil):
    names = [name for name, _ in tables]
    frames = [table for _, table in tables]
    if SPOILS[spoil] is not None:
        frames[1] = SPOILS[spoil](frames[1])
    if not same_shape(frames):
        pytest.fail(f"spoiling with {spoil} changed the table's dtypes; the test would not screen it")

    together = screen_row_checks_together([prepare_frame(frame) for frame in frames], source_id=SOURCE,
                                          layout=LAYOUT, parameters=_parameters(frames, 0))

    for index, (name, frame) in enumerate(zip(names, frames, strict=True)):
        alone = validate(frame, source_id=SOURCE, layout=LAYOUT, file_name=name,
                         parameters=_parameters(frames, index))
        screened = validate(frame, source_id=SOURCE, layout=LAYOUT, file_name=name,
                            parameters=_parameters(frames, index), screened=together[index])
        assert [f.as_dict() for f in screened.findings] == [f.as_dict() for f in alone.findings], (spoil, name)
        assert (screened.evaluated, screened.skipped) == (alone.evaluated, alone.skipped)
        assert bool(alone.findings) == (spoil != "nothing" and index == 1), alone.summary()


def test_a_batch_that_passes_settles_every_row_check_and_a_failed_check_gives_each_extract_its_own_rows(tables):
    frames = [table for _, table in tables]
    suite = load_suite(SOURCE, LAYOUT)["expectations"]
    row_wise = {position for position, expectation in enumerate(suite) if stacked_form(expectation) is not None}
    parameters = _parameters(frames, 0)
    assert len(row_wise) > len(suite) / 2  # most of a suite: what the screen saves

    together = screen_row_checks_together([prepare_frame(f) for f in frames], source_id=SOURCE, layout=LAYOUT,
                                          parameters=parameters)
    assert all(own.settled == dict.fromkeys(sorted(row_wise)) for own in together)

    frames[2] = SPOILS["an unknown suppression token"](frames[2])
    together = screen_row_checks_together([prepare_frame(f) for f in frames], source_id=SOURCE, layout=LAYOUT,
                                          parameters=parameters)
    assert all(set(own.settled) == row_wise for own in together)  # the failed check too: no table reruns it
    failed = {position for position, result in together[2].settled.items() if result is not None}
    assert [(suite[p]["type"], suite[p]["kwargs"]["column"]) for p in failed] == [
        ("expect_column_values_to_be_in_set", "suppression_token")]
    assert together[2].settled[failed.pop()]["unexpected_index_list"] == [_first(frames[2])]  # its own numbering
    assert not any(result for number in (0, 1, 3) for result in together[number].settled.values())


def test_a_row_repeated_within_one_extract_is_settled_by_the_screen_at_that_extracts_own_rows(tables):
    frames = [table for _, table in tables]
    suite = load_suite(SOURCE, LAYOUT)["expectations"]
    unique = next(position for position, expectation in enumerate(suite)
                  if expectation["type"] == "expect_compound_columns_to_be_unique")
    frames[2] = _duplicate_a_row(frames[2])

    together = screen_row_checks_together([prepare_frame(f) for f in frames], source_id=SOURCE, layout=LAYOUT,
                                          parameters=_parameters(frames, 0))

    assert [own.settled[unique] is None for own in together] == [True, True, False, True]
    result = together[2].settled[unique]
    assert result["unexpected_index_list"] == [0, len(frames[2]) - 1]
    assert result["expectation_config"]["kwargs"]["column_list"] == suite[unique]["kwargs"]["column_list"]


def test_rows_repeated_across_extracts_are_not_duplicates_within_either(tables):
    """Why uniqueness is checked per extract: two releases may state the same rows (a restatement)."""
    name, table = tables[0]
    parameters = {"release_period_start": table["period_start"].max()}
    together = screen_row_checks_together([prepare_frame(table)] * 2, source_id=SOURCE, layout=LAYOUT,
                                          parameters=parameters)
    assert validate(table, source_id=SOURCE, layout=LAYOUT, file_name=name, parameters=parameters,
                    screened=together[0]).passed
    stacked = pd.concat([table, table], ignore_index=True)
    as_one = validate(stacked, source_id=SOURCE, layout=LAYOUT, file_name=name, parameters=parameters)
    assert [f.expectation for f in as_one.errors] == ["expect_compound_columns_to_be_unique"]


def test_a_check_failed_other_than_by_rows_is_left_to_each_extract(tables):
    """A column missing from every extract of the batch fails the stack with no offending rows to
    share out: each extract runs that check itself and gets the finding it gets alone."""
    names = [name for name, _ in tables]
    frames = [table.drop(columns="suppression_token") for _, table in tables]
    together = screen_row_checks_together([prepare_frame(f) for f in frames], source_id=SOURCE, layout=LAYOUT,
                                          parameters=_parameters(frames, 0))
    for index, (name, frame) in enumerate(zip(names, frames, strict=True)):
        alone = validate(frame, source_id=SOURCE, layout=LAYOUT, file_name=name, parameters=_parameters(frames, index))
        screened = validate(frame, source_id=SOURCE, layout=LAYOUT, file_name=name,
                            parameters=_parameters(frames, index), screened=together[index])
        assert [f.as_dict() for f in screened.findings] == [f.as_dict() for f in alone.findings]
        assert "required column 'suppression_token' is missing" in screened.summary()


def test_extracts_of_another_shape_are_not_screened_together(tables):
    prepared = [prepare_frame(table) for _, table in tables[:2]]
    prepared[1] = prepared[1].astype({"value": object})
    assert not same_shape(prepared)
    with pytest.raises(ValueError, match="same columns and dtypes"):
        screen_row_checks_together(prepared, source_id=SOURCE, layout=LAYOUT, parameters={})


def test_only_checks_of_each_row_on_its_own_are_screened_together():
    """Volumes, the release period and uniqueness are about an extract as a whole; a share of rows
    (``mostly``) is too."""
    from pipelines.sources.catalogue import SOURCES

    for spec in SOURCES:
        for layout in spec.layouts:
            for expectation in load_suite(spec.id, layout)["expectations"]:
                whole = (expectation["type"] in {
                    "expect_column_max_to_be_between", "expect_column_min_to_be_between",
                    "expect_column_sum_to_be_between", "expect_column_unique_value_count_to_be_between",
                    "expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
                    "expect_table_row_count_to_be_between"}
                    or set(expectation["meta"].get("requires", [])) - {"known_org_codes"})
                assert is_row_wise(expectation) is not bool(whole), (spec.id, layout, expectation["type"])
    mostly = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "value", "mostly": 0.9},
              "meta": {}}
    assert not is_row_wise(mostly)


def test_of_the_checks_of_an_extract_as_a_whole_only_uniqueness_is_screened_together_keyed_by_extract():
    from pipelines.sources.catalogue import SOURCES

    for spec in SOURCES:
        for layout in spec.layouts:
            for expectation in load_suite(spec.id, layout)["expectations"]:
                stacked = stacked_form(expectation)
                if is_row_wise(expectation):
                    assert stacked is expectation
                elif expectation["type"] == "expect_compound_columns_to_be_unique":
                    assert stacked["kwargs"]["column_list"] == [*expectation["kwargs"]["column_list"], STACKED_EXTRACT]
                else:
                    assert stacked is None, (spec.id, layout, expectation["type"])


def test_a_check_the_extract_skips_is_not_reported_from_the_screen(tables):
    """The batch was screened against ODS's codes, but this extract's validation has none (ODS not
    loaded): the unknown code is listed as not checked, as it is alone, not reported from the screen."""
    names = [name for name, _ in tables]
    frames = [table for _, table in tables]
    frames[1] = SPOILS["an organisation ODS does not know"](frames[1])
    together = screen_row_checks_together([prepare_frame(f) for f in frames], source_id=SOURCE, layout=LAYOUT,
                                          parameters=_parameters(frames, 0))
    assert any(together[1].settled.values())  # the screen found the unknown code
    without_codes = {"release_period_start": frames[1]["period_start"].max()}

    alone = validate(frames[1], source_id=SOURCE, layout=LAYOUT, file_name=names[1], parameters=without_codes)
    screened = validate(frames[1], source_id=SOURCE, layout=LAYOUT, file_name=names[1], parameters=without_codes,
                        screened=together[1])
    assert screened.findings == alone.findings == []
    assert screened.skipped == alone.skipped and any("known_org_codes" in s for s in screened.skipped)
