"""A finding's examples are distinct offending rows, not one row repeated once per measure.

An FFT workbook row becomes several observations (one per measure), so an organisation code
outside the known set fails once per measure. The examples quoted to the analyst used to be the
first five failing observations: the same workbook row three times and the next organisation's
twice, hiding the rest (found in a full refresh's ledger: ``row 16, NT2`` three times).
"""

from __future__ import annotations

from pipelines.validation import suites


def test_examples_of_an_unknown_code_are_distinct_workbook_rows(inpatient):
    table = inpatient.table
    codes = list(dict.fromkeys(table["org_code"]))
    known = codes[4:]  # the first four organisations are unknown
    report = suites.validate(table, source_id="fft", layout="inpatient", file_name="inpatient.xlsm",
                             parameters={"known_org_codes": known})

    (finding,) = [f for f in report.findings if f.column == "resolved_org_code"]
    examples = [(example["row"], example["org_code"]) for example in finding.examples]
    assert len(examples) == len(set(examples)), finding.examples
    assert {code for _, code in examples} == set(codes[:4])
    per_row = table[table["org_code"].isin(codes[:4])].groupby("source_row").size()
    assert (per_row > 1).all(), "the fixture must have several observations per workbook row"
    assert finding.message.endswith(f"{int(per_row.sum())} values outside the allowed set "
                                    f"({len(per_row)} rows) in column 'resolved_org_code'")
