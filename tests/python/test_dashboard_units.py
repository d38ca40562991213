"""Dashboard pieces without a browser: formats, texts, charts and the emailing list."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from amazing_analytics.dashboard import campaigns, charts, formatting
from amazing_analytics.dashboard.texts import TEXTS, column_label, text

PAGES = Path(__file__).resolve().parents[2] / "src" / "amazing_analytics" / "dashboard"


def test_figures_are_formatted_for_people_in_both_languages() -> None:
    assert formatting.number(1234567.4, "en") == "1,234,567"
    assert formatting.number(1234567.4, "fr") == "1\u202f234\u202f567"
    assert formatting.percent(0.1234, "en") == "12.3%"
    assert formatting.percent(0.1234, "fr") == "12,3\u202f%"
    assert formatting.percent(0.1, "en", decimals=0, signed=True) == "+10%"
    assert formatting.percent(-0.2, "fr", decimals=0, signed=True) == "−20\u202f%"
    assert formatting.money(1234.5, "en") == "$1,234.50"
    assert formatting.money(1234.5, "fr") == "1\u202f234,50\u202f$"
    assert formatting.money(-3, "en") == "−$3.00"
    for missing in (None, float("nan"), "n/a"):
        assert formatting.number(missing, "en") == "–"
        assert formatting.percent(missing, "fr") == "–"
        assert formatting.money(missing, "fr") == "–"


def test_every_text_has_both_languages_and_the_same_placeholders() -> None:
    for key, (english, french) in TEXTS.items():
        assert english.strip() and french.strip(), key
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", french)), key
    assert text("overview.summary", "en", met=2, total=3) == "2 of 3 objectives met."
    assert text("overview.summary", "fr", met=2, total=3) == "2 objectif(s) atteint(s) sur 3."
    assert column_label("customer_count", "fr") == "Clients"
    assert column_label("not_a_known_column", "fr") == "not_a_known_column"
    with pytest.raises(KeyError):
        text("no.such.key", "en")


def test_every_text_key_used_by_the_pages_exists() -> None:
    used: set[str] = set()
    for path in [*PAGES.glob("*.py"), *(PAGES / "views").glob("*.py")]:
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\btr\(\s*["']([a-z_.]+)["']""", source))
        used |= set(re.findall(r"""\btext\(\s*["']([a-z_.]+)["']""", source))
    assert used, "no text keys found: the pattern is wrong"
    assert sorted(used - set(TEXTS)) == []


def _weekly() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "week_start": pd.to_datetime(["2019-10-07", "2019-10-14", "2019-10-21"]),
            "kpi_name": ["conversion_rate"] * 3,
            "kpi_value": [0.10, 0.105, 0.12],
            "baseline_value": [0.10] * 3,
            "target_value": [0.11] * 3,
            "is_objective_met": [False, False, True],
        }
    )


def test_kpi_chart_has_title_axes_with_units_and_the_target() -> None:
    spec = charts.finish(
        charts.kpi_objective_chart(_weekly(), "conversion_rate", "fr"), "fr"
    ).to_dict()
    assert spec["title"] == "Taux de conversion par semaine"
    layers = spec["layer"]
    assert layers[0]["encoding"]["y"]["title"] == "Taux de conversion (%)"
    assert layers[0]["encoding"]["x"]["title"] == "Semaine (début le lundi)"
    assert layers[2]["mark"]["strokeDash"] == [6, 4]  # the target line
    assert spec["config"]["locale"]["number"]["decimal"] == ","
    basket = charts.kpi_objective_chart(
        _weekly().assign(kpi_name="average_basket"), "average_basket", "en"
    ).to_dict()
    assert basket["layer"][0]["encoding"]["y"]["title"] == "Average basket ($)"


def test_every_chart_builder_gives_a_titled_chart_with_axis_titles() -> None:
    brand = pd.DataFrame(
        {
            "month_start": pd.to_datetime(["2019-10-01", "2019-11-01"] * 2),
            "category_code": ["all brand categories"] * 2 + ["electronics.audio"] * 2,
            "revenue_share": [0.2, 0.17, 0.3, 0.2],
            "view_share": [0.25, 0.24, 0.3, 0.3],
        }
    )
    grid = pd.DataFrame(
        {
            "r_score": [5, 1],
            "fm_score": [5, 1],
            "rfm_segment": ["Champions", "Lost"],
            "customer_count": [3, 7],
            "revenue": [30.0, 7.0],
        }
    )
    sizes = pd.DataFrame(
        {"campaign_name": ["Win back"], "segment_name": ["A"], "audience_size": [4]}
    )
    built = [
        charts.brand_share_chart(brand, "en"),
        charts.brand_share_heatmap(brand, "en"),
        charts.rfm_heatmap(grid, "en"),
        charts.audience_heatmap(sizes, "en"),
        charts.segment_size_chart(
            pd.DataFrame({"segment_name": ["A"], "customer_count": [3], "customer_share": [1.0]}),
            "en",
        ),
        charts.segment_map_chart(
            pd.DataFrame({"x": [0.0], "y": [1.0], "segment_name": ["A"]}), "en"
        ),
    ]
    for chart in built:
        spec = chart.to_dict()
        assert spec.get("title"), spec
        encodings = [spec.get("encoding")] + [
            layer.get("encoding") for layer in spec.get("layer", [])
        ]
        axis_titles = [
            e[axis]["title"]
            for e in encodings
            if e
            for axis in ("x", "y")
            if "title" in e.get(axis, {})
        ]
        assert len(axis_titles) >= 2, spec["title"]
    assert built[2].to_dict()["layer"][0]["encoding"]["y"]["title"].startswith("Recency score")


def test_model_chart_draws_intervals_only_when_present() -> None:
    rows = pd.DataFrame({"model": ["a", "b"], "value": [0.1, 0.2], "is_selected": [False, True]})
    assert len(charts.model_comparison_chart(rows, "NDCG@10", "t", "en").to_dict()["layer"]) == 1
    with_ci = rows.assign(ci_low=[0.05, 0.15], ci_high=[0.15, 0.25])
    assert len(charts.model_comparison_chart(with_ci, "NDCG@10", "t", "en").to_dict()["layer"]) == 2


def _audiences() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "campaign_type": ["win_back"] * 3,
            "campaign_name": ["Win back"] * 3,
            "segment_name": ["A", "A", "B"],
            "user_id": [1, 2, 3],
            "product_1_id": [10, 11, 12],
            "product_1_reason": ["r1", "r1", "r1"],
            "product_2_id": [11, None, 10],
            "product_2_reason": ["r2", None, "r2"],
            "product_3_id": [None, None, None],
            "product_3_reason": [None, None, None],
            "purchase_probability": [0.2, 0.9, None],
            "propensity_decile": [3, 1, None],
        }
    )


def test_emailing_list_never_holds_an_opt_out() -> None:
    customers = pd.DataFrame(
        {"user_id": [1, 2, 3], "is_personalisation_opt_out": [False, True, None]}
    )
    excluded = campaigns.excluded_user_ids(customers, live_ids={3})
    assert excluded == {2, 3}
    rows = campaigns.emailing_list(_audiences(), excluded)
    assert rows["user_id"].tolist() == [1]
    assert list(rows.columns) == list(campaigns.EMAIL_COLUMNS)
    csv_text = campaigns.to_csv(rows).decode("utf-8")
    assert csv_text.splitlines()[0] == ",".join(campaigns.EMAIL_COLUMNS)
    # likeliest first, unknown propensity last
    assert campaigns.emailing_list(_audiences(), set())["user_id"].tolist() == [2, 1, 3]
    with pytest.raises(ValueError, match="lacks the columns user_id"):
        campaigns.emailing_list(_audiences().drop(columns=["user_id"]), set())


def test_the_campaigns_control_group_is_not_in_the_emailing_list() -> None:
    assignments = pd.DataFrame(
        {
            "campaign_type": ["cross_sell", "cross_sell", "cart_recovery"],
            "user_id": [1, 2, 3],
            "group_name": ["control", "treatment", "control"],
        }
    )
    held_out = campaigns.control_group_user_ids(assignments, "cross_sell")
    assert held_out == {1}
    assert campaigns.control_group_user_ids(None, "cross_sell") == frozenset()
    rows = campaigns.emailing_list(_audiences(), held_out)
    assert 1 not in rows["user_id"].tolist()


def test_email_preview_names_the_products_and_their_reasons() -> None:
    products = pd.DataFrame(
        {
            "product_id": [10, 11],
            "brand": ["amazingbasics", None],
            "category_code": ["electronics.audio.headphone", None],
            "median_price": [19.5, 3.0],
        }
    )
    row = _audiences().iloc[0]
    preview = campaigns.email_preview(row, "We have missed you.", products, "fr")
    assert "**Objet\u00a0: Win back**" in preview and "Bonjour," in preview
    assert "1. **Amazingbasics headphone (#10, 19,50\u202f$)** — _r1_" in preview
    assert "2. **#11 (3,00\u202f$)** — _r2_" in preview
    assert "3." not in preview


def test_dashboard_command_rejects_a_bad_port() -> None:
    from typer.testing import CliRunner

    from amazing_analytics.cli import app

    result = CliRunner().invoke(app, ["dashboard", "--port", "70000"])
    assert result.exit_code == 2
    assert "--port must be 1..65535, got 70000" in result.output


def test_dashboard_command_starts_streamlit_headless_on_the_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess

    from typer.testing import CliRunner

    from amazing_analytics.cli import app
    from amazing_analytics.dashboard import APP_PATH

    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(
        command: list[str], env: dict[str, str], check: bool
    ) -> subprocess.CompletedProcess:
        calls.append((command, env))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    result = CliRunner().invoke(
        app, ["dashboard", "--port", "8512", "--headless", "--warehouse", "/tmp/w/amazing.duckdb"]
    )
    assert result.exit_code == 0, result.output
    command, env = calls[0]
    assert command[1:5] == ["-m", "streamlit", "run", str(APP_PATH)]
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.port"] == "8512"
    assert flags["--server.headless"] == "true"
    assert flags["--server.address"] == "127.0.0.1"
    assert env["AMAZING_WAREHOUSE"] == "/tmp/w/amazing.duckdb"


def test_exports_are_read_from_beside_the_warehouse_and_reloaded_after_a_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from amazing_analytics.dashboard import data

    monkeypatch.setenv("AMAZING_WAREHOUSE", str(tmp_path / "wh" / "amazing.duckdb"))
    monkeypatch.delenv("AMAZING_EXPORTS_DIR", raising=False)
    assert (
        data.parquet_path("kpi_weekly")
        == tmp_path / "wh" / "exports" / "parquet" / "kpi_weekly.parquet"
    )
    assert data.load("kpi_weekly") is None
    target = data.parquet_path("kpi_weekly")
    target.parent.mkdir(parents=True)
    pd.DataFrame({"revenue": [1.0]}).to_parquet(target)
    assert data.load("kpi_weekly")["revenue"].tolist() == [1.0]
    # a new build replaces the file: the next read sees it (the cache is keyed on mtime and size)
    pd.DataFrame({"revenue": [2.0, 3.0]}).to_parquet(target)
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert data.load("kpi_weekly")["revenue"].tolist() == [2.0, 3.0]
    monkeypatch.setenv("AMAZING_EXPORTS_DIR", str(tmp_path / "elsewhere"))
    assert data.parquet_path("x") == tmp_path / "elsewhere" / "parquet" / "x.parquet"


def test_live_gdpr_lists_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from amazing_analytics.dashboard import data

    monkeypatch.setenv("AMAZING_GDPR_LIVE_DIR", str(tmp_path))
    assert data.live_gdpr_user_ids() == frozenset()
    (tmp_path / "personalisation_opt_outs.csv").write_text("user_id,opted_out_at\n5,2020-01-01\n\n")
    (tmp_path / "erasure_requests.csv").write_text("user_id,requested_at\n7,2020-01-02\nbad,x\n")
    assert data.live_gdpr_user_ids() == {5, 7}


def test_api_client_says_why_the_api_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from amazing_analytics.dashboard import api_client

    monkeypatch.setenv("AMAZING_API_URL", "http://127.0.0.1:8599/")
    assert api_client.api_url() == "http://127.0.0.1:8599"
    monkeypatch.setenv("AMAZING_API_URL", " ")
    assert api_client.api_url() is None
    with pytest.raises(api_client.ApiUnavailableError):
        api_client.user_recommendations("http://127.0.0.1:8599", 1, timeout=0.5)


def test_campaign_messages_translate_the_seed() -> None:
    import csv

    seed = Path(__file__).resolve().parents[2] / "seeds" / "campaign_types.csv"
    with seed.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    for row in rows:
        english, french = TEXTS[f"campaign.message.{row['campaign_type']}"]
        assert english == row["message"], row["campaign_type"]
        assert french and french != english


def test_api_client_reads_the_users_route() -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from amazing_analytics.dashboard import api_client

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self.path)
            body = json.dumps({"items": [{"product_id": 3, "reason": "r"}], "model": "m"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 8568), Handler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        answer = api_client.user_recommendations("http://127.0.0.1:8568", 42, k=5)
    finally:
        thread.join(timeout=5)
        server.server_close()
    assert seen == ["/v1/users/42/recommendations?k=5"]
    assert answer["items"][0]["product_id"] == 3 and answer["model"] == "m"


def test_forecast_features_are_named_in_plain_words() -> None:
    from amazing_analytics.dashboard.texts import feature_label

    assert feature_label("views_lag_28", "en") == "Product views 28 days before"
    assert feature_label("y_mean_7", "fr") == "Ventes moyennes, 7 derniers jours"
    assert feature_label("price_index_mean_7", "en") == "Price level, last 7 days"
    assert feature_label("day_of_week", "fr") == "Jour de la semaine"
    assert feature_label("something_new", "fr") == "something_new"
