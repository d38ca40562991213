"""The BI hand-off: Parquet exports (atomic, exact row counts, empty tables empty), the Power BI
files, the contracts and the exposures, on small tables and on a real dbt build."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from amazing_analytics.exports import (
    QUARANTINE_SAMPLE,
    ExportError,
    database_path,
    export_log,
    export_marts,
    export_relations,
    exports_dir,
    power_query,
    quarantine_sample,
)
from amazing_analytics.warehouse import MAIN_MARTS
from conftest import REPO, Build, copy_project, run_dbt

# -- small tables ------------------------------------------------------------------------------


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    connection.execute("create schema marts; create schema staging")
    connection.execute(
        "create table marts.kpi as select date '2020-01-01' + i::int as d, "
        "i::hugeint as units, uuid() as session_id from range(3) as t(i)"
    )
    connection.execute("create table marts.empty_one (user_id bigint, score double)")
    yield connection
    connection.close()


def test_exports_dir_defaults_beside_the_warehouse_and_env_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AMAZING_EXPORTS_DIR", raising=False)
    monkeypatch.delenv("AMAZING_WAREHOUSE", raising=False)
    assert exports_dir() == Path("warehouse/exports")
    assert exports_dir(tmp_path / "w" / "a.duckdb") == tmp_path / "w" / "exports"
    monkeypatch.setenv("AMAZING_WAREHOUSE", str(tmp_path / "x" / "b.duckdb"))
    assert exports_dir() == tmp_path / "x" / "exports"
    monkeypatch.setenv("AMAZING_EXPORTS_DIR", str(tmp_path / "elsewhere"))
    assert exports_dir(tmp_path / "w" / "a.duckdb") == tmp_path / "elsewhere"


def test_export_writes_exact_rows_bi_types_and_an_empty_file_for_an_empty_table(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    exports = tmp_path / "exports"
    exported = export_relations(
        {"kpi": con.table("marts.kpi"), "empty_one": con.table("marts.empty_one")}, exports
    )
    assert {e.table_name: e.row_count for e in exported} == {"kpi": 3, "empty_one": 0}

    kpi = pq.read_table(exports / "parquet" / "kpi.parquet")
    assert kpi.num_rows == 3
    assert kpi.schema.field("units").type == pa.int64()  # HUGEINT -> BIGINT
    assert kpi.schema.field("session_id").type == pa.string()  # UUID -> text
    assert kpi.schema.field("d").type == pa.date32()
    assert sorted(kpi.column("units").to_pylist()) == [0, 1, 2]

    # an empty table gives a file with its columns and no row (not one all-NULL row)
    empty = pq.read_table(exports / "parquet" / "empty_one.parquet")
    assert empty.num_rows == 0 and empty.column_names == ["user_id", "score"]

    # no temporary file is left behind
    assert sorted(p.name for p in (exports / "parquet").iterdir()) == [
        "empty_one.parquet",
        "kpi.parquet",
    ]


def test_power_bi_files_point_at_the_parquet_folder(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    exports = tmp_path / "exports"
    export_relations({"kpi": con.table("marts.kpi")}, exports)
    powerbi = exports / "powerbi"
    assert sorted(p.name for p in powerbi.iterdir()) == [
        "ExportsFolder.pq",
        "amazing.pbids",
        "kpi.pq",
    ]
    query = (powerbi / "kpi.pq").read_text()
    assert query == power_query("kpi")
    assert 'Parquet.Document(File.Contents(ExportsFolder & "kpi.parquet"))' in query
    parameter = (powerbi / "ExportsFolder.pq").read_text()
    folder = str((exports / "parquet").resolve()) + "/"
    assert json.dumps(folder) + " meta [IsParameterQuery=true" in parameter
    source = json.loads((powerbi / "amazing.pbids").read_text())
    assert source["version"] == "0.1"
    (connection,) = source["connections"]
    assert connection["details"] == {
        "protocol": "folder",
        "address": {"path": str((exports / "parquet").resolve())},
    }


def test_a_failed_export_keeps_the_previous_file_and_leaves_no_temporary(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    exports = tmp_path / "exports"
    export_relations({"kpi": con.table("marts.kpi")}, exports)
    before = (exports / "parquet" / "kpi.parquet").read_bytes()
    failing = con.query(
        "select case when range = 5000 then error('disk full') else range end as units "
        "from range(10000)"
    )
    with pytest.raises(duckdb.Error, match="disk full"):
        export_relations({"kpi": failing}, exports)
    assert (exports / "parquet" / "kpi.parquet").read_bytes() == before
    assert [p.name for p in (exports / "parquet").iterdir()] == ["kpi.parquet"]


def test_a_table_no_longer_exported_loses_its_files(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    exports = tmp_path / "exports"
    export_relations(
        {"kpi": con.table("marts.kpi"), "empty_one": con.table("marts.empty_one")}, exports
    )
    export_relations({"kpi": con.table("marts.kpi")}, exports)
    assert [p.name for p in (exports / "parquet").iterdir()] == ["kpi.parquet"]
    assert not (exports / "powerbi" / "empty_one.pq").exists()
    assert (exports / "powerbi" / "ExportsFolder.pq").exists()


def test_bad_table_names_and_nothing_to_export_are_clear_errors(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    with pytest.raises(ExportError, match="nothing to export"):
        export_relations({}, tmp_path / "exports")
    with pytest.raises(ExportError, match="not a table name"):
        export_relations({"../kpi": con.table("marts.kpi")}, tmp_path / "exports")


def test_quarantine_sample_keeps_the_first_lines_of_each_reason(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute(
        "create table staging.events_quarantine as select range as quarantine_id, "
        "'f' || (range % 2) as source_file, range as line_number, "
        "case when range < 7 then 'invalid_price' else 'malformed_line' end as reject_reason "
        "from range(10)"
    )
    sample = quarantine_sample(con.table("staging.events_quarantine"), per_reason=2)
    rows = sample.order("quarantine_id").fetchall()
    # invalid_price: ids 0..6, first by file then line: f0 has 0, 2, 4, 6; malformed: 7, 8, 9 ->
    # f0 has 8, f1 has 7, 9
    assert [(r[0], r[3]) for r in rows] == [
        (0, "invalid_price"),
        (2, "invalid_price"),
        (7, "malformed_line"),
        (8, "malformed_line"),
    ]
    assert sample.columns == ["quarantine_id", "source_file", "line_number", "reject_reason"]
    with pytest.raises(ExportError, match=">= 0"):
        quarantine_sample(con.table("staging.events_quarantine"), per_reason=-1)


def test_export_marts_exports_every_mart_of_a_built_warehouse(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    warehouse = database_path(con)
    con.close()
    counts = export_marts(warehouse, tmp_path / "exports")
    assert counts == {"kpi": 3, "empty_one": 0}
    with pytest.raises(FileNotFoundError, match="make build"):
        export_marts(tmp_path / "missing.duckdb", tmp_path / "exports")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ExportError, match="no table in schema marts"):
        export_marts(empty, tmp_path / "exports")


def test_export_log_has_one_row_per_file(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    exported = export_relations({"kpi": con.table("marts.kpi")}, tmp_path / "exports")
    log = export_log(exported)
    assert log.column_names == [
        "table_name",
        "row_count",
        "file_path",
        "query_path",
        "exported_at",
    ]
    assert log.column("table_name").to_pylist() == ["kpi"]
    assert log.column("row_count").to_pylist() == [3]


# -- the dbt project: contracts, exposures, the export model ------------------------------------


def readme_contract_marts() -> set[str]:
    """The `marts.*` rows of the README's BI-contract table (the first table after its title)."""
    text = (REPO / "README.md").read_text()
    section = text.split("## What the build makes (the BI contract", 1)[1]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return set(re.findall(r"^\| `(marts\.\w+)` \|", "\n".join(table), flags=re.MULTILINE))


@pytest.fixture(scope="module")
def dirty_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """One build of the dirty files with `dbt docs generate`, shared by the tests below."""
    from test_warehouse_e2e import write_dirty_files

    root = tmp_path_factory.mktemp("exports")
    events_glob = write_dirty_files(root / "dirty")
    project = copy_project(root / "project")
    build = run_dbt(project, events_glob, "build")
    assert build.returncode == 0, build.output[-6000:]
    docs = run_dbt(project, events_glob, "docs", "generate")
    assert docs.returncode == 0, docs.output[-4000:]
    return build


def manifest(build: Build) -> dict:
    return json.loads((build.project / "target" / "manifest.json").read_text())


def test_every_mart_is_exported_with_its_exact_row_count(dirty_build: Build) -> None:
    exports = dirty_build.warehouse.parent / "exports"
    marts = {
        name
        for (name,) in dirty_build.query(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    }
    files = {p.stem: p for p in (exports / "parquet").glob("*.parquet")}
    assert set(files) == marts | {QUARANTINE_SAMPLE}
    for name in marts:
        table_rows = dirty_build.scalar(f"select count(*) from marts.{name}")
        assert pq.read_metadata(files[name]).num_rows == table_rows, name
        assert (exports / "powerbi" / f"{name}.pq").exists(), name
    # the dirty files are too few for a propensity model: its table is empty, so is its file
    assert pq.read_metadata(files["customer_propensity"]).num_rows == 0
    # every reject reason of the dirty files has its examples (all of them: fewer than 20 each)
    sample = pq.read_table(files[QUARANTINE_SAMPLE])
    assert sample.num_rows == dirty_build.scalar("select count(*) from staging.events_quarantine")
    # the export log agrees with the files
    logged = dict(dirty_build.query("select table_name, row_count from exports.bi_exports"))
    assert logged == {name: pq.read_metadata(path).num_rows for name, path in files.items()}


def test_the_export_model_refs_every_mart(dirty_build: Build) -> None:
    nodes = manifest(dirty_build)["nodes"]
    marts = {
        node["unique_id"]
        for node in nodes.values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }
    exporter = nodes["model.amazing.bi_exports"]
    assert marts - set(exporter["depends_on"]["nodes"]) == set()


def test_the_bi_contract_is_one_list(dirty_build: Build) -> None:
    """Contracts, the Power BI exposure, MAIN_MARTS and the README table name the same marts."""
    data = manifest(dirty_build)
    contracted = {
        f"{node['schema']}.{node['name']}"
        for node in data["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["contract"]["enforced"]
    }
    power_bi = data["exposures"]["exposure.amazing.power_bi_report"]
    read_by_power_bi = {
        f"{data['nodes'][uid]['schema']}.{data['nodes'][uid]['name']}"
        for uid in power_bi["depends_on"]["nodes"]
        if data["nodes"][uid]["schema"] == "marts"
    }
    assert contracted == read_by_power_bi
    assert contracted == {name for name in MAIN_MARTS if name.startswith("marts.")}
    assert contracted == readme_contract_marts()
    # a contract names every column with its type
    for node in data["nodes"].values():
        if node["resource_type"] == "model" and node["config"]["contract"]["enforced"]:
            assert all(column.get("data_type") for column in node["columns"].values()), node["name"]


def test_exposures_show_in_the_docs_lineage(dirty_build: Build) -> None:
    exposures = manifest(dirty_build)["exposures"]
    assert {e["name"]: e["type"] for e in exposures.values()} == {
        "marketing_dashboard": "dashboard",
        "power_bi_report": "analysis",
        "campaign_export": "application",
        "recommendation_api": "application",
    }
    for exposure in exposures.values():
        assert exposure["owner"]["name"], exposure["name"]
        assert exposure["depends_on"]["nodes"], exposure["name"]
    api = exposures["exposure.amazing.recommendation_api"]["depends_on"]["nodes"]
    assert {
        "model.amazing.recommendations",
        "model.amazing.item_embeddings",
        "model.amazing.user_embeddings",
        "model.amazing.popular_products",
        "model.amazing.products",
        "model.amazing.similar_products",
    } <= set(api)
    # the docs site's lineage is drawn from the manifest's child map
    child_map = manifest(dirty_build)["child_map"]
    assert "exposure.amazing.power_bi_report" in child_map["model.amazing.kpi_weekly"]
    assert "exposure.amazing.marketing_dashboard" in child_map["model.amazing.bi_exports"]


def test_a_retyped_contract_column_fails_the_build(tmp_path: Path) -> None:
    """The contract is enforced: kpi_daily's revenue declared as text fails its model."""
    from test_warehouse_e2e import write_dirty_files

    events_glob = write_dirty_files(tmp_path / "dirty")
    project = copy_project(tmp_path / "project")
    yml = project / "models" / "marts" / "sales" / "_sales__models.yml"
    text = yml.read_text()
    marker = "  - name: kpi_daily\n"
    head, tail = text.split(marker, 1)
    tail = tail.replace(
        "      - name: revenue\n        data_type: decimal(38,2)\n",
        "      - name: revenue\n        data_type: varchar\n",
        1,
    )
    yml.write_text(head + marker + tail)
    result = run_dbt(project, events_glob, "build", "--select", "+kpi_daily")
    assert result.returncode != 0
    assert "kpi_daily" in result.output and "contract" in result.output.lower()
