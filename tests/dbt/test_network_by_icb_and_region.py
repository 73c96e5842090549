"""A network can be named by ODS codes, ICB codes or NHS England region codes (configuration)."""

from __future__ import annotations

import duckdb
import raw_dataset

from pipelines.config import load_settings
from pipelines.transform import run_dbt


def test_network_members_include_every_open_trust_of_the_configured_icbs_and_regions(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    settings = load_settings(environ={
        "CULTURE_OUTCOMES_PATHS_DATA_DIR": str(tmp_path / "data"),
        "CULTURE_OUTCOMES_WAREHOUSE_DUCKDB_PATH": str(path),
        "CULTURE_OUTCOMES_NETWORK_MEMBERS": "RC9",
        "CULTURE_OUTCOMES_NETWORK_ICB_CODES": "QUE",
        "CULTURE_OUTCOMES_NETWORK_REGION_CODES": "Y63",
    })
    raw_dataset.load_raw(settings)
    run_dbt(settings, "run", "--select", "+dim_organisation", target_path=tmp_path / "target")
    con = duckdb.connect(str(path), read_only=True)
    try:
        members = {row[0] for row in con.execute(
            "select org_code from marts.dim_organisation where is_network_member").fetchall()}
    finally:
        con.close()
    by_area = {code for code, (_, _, _, region, icb) in raw_dataset.TRUSTS.items()
               if code not in raw_dataset.CLOSED and (icb == "QUE" or region == "Y63")}
    assert {"RYV", "RYC", "RGT", "RAE"} <= by_area
    assert members == {"RC9"} | by_area
