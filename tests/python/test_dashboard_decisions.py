"""The Decisions page on fixture Parquet exports (no build): every section from its marts, and
the recommendation click-through shown when recommendation_performance is exported, a plain
notice when it is missing or empty."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from amazing_analytics.dashboard import APP_PATH, decisions
from amazing_analytics.dashboard.texts import text


def _frames() -> dict[str, pd.DataFrame]:
    return {
        "stock_plan": pd.DataFrame(
            {
                "series_id": ["category:electronics.audio", "all"],
                "expected_units_horizon": [40.0, 500.0],
                "safety_stock": [6, 46],
                "reorder_point": [18, 180],
                "reorder_quantity": [10, 134],
                "service_level": [0.95, 0.95],
            }
        ),
        "stock_plan_backtest": pd.DataFrame(
            {
                "series_id": ["all", "category:electronics.audio"],
                "model": ["auto_ets"] * 2,
                "days": [56, 56],
                "achieved_service_level": [0.875, 0.964],
                "achieved_ci_low": [0.76, 0.88],
                "achieved_ci_high": [0.94, 0.99],
                "lead_time_service_level": [0.75, 1.0],
                "service_level": [0.95, 0.95],
            }
        ),
        "price_elasticity": pd.DataFrame(
            {
                "category_level_2": ["electronics.audio", "kids.carriage", "sport.bicycle"],
                "elasticity": [-1.4, None, -0.6],
                "elasticity_ci_low": [-1.9, None, -1.0],
                "elasticity_ci_high": [-0.9, None, -0.2],
                "units": [300, 40, 120],
                "status": ["ok", "not_identifiable", "ok"],
            }
        ),
        "price_suggestions": pd.DataFrame(
            {
                "product_id": [11, 12],
                "performance_label": ["underperforming", "high_potential"],
                "current_price": [100.0, 50.0],
                "suggested_change": [-0.1, 0.0],
                "suggested_price": [90.0, 50.0],
                "expected_revenue_delta": [44.5, None],
                "expected_revenue_delta_low": [10.0, None],
                "expected_revenue_delta_high": [80.0, None],
                "status": ["suggested", "no_elasticity"],
                "reason": ["Lower the price 10% (100.00 to 90.00): elastic", "Keep the price"],
            }
        ),
        "campaign_results": pd.DataFrame(
            {
                "campaign_id": ["demo_recent_visitors"] * 2,
                "send_date": [dt.date(2020, 1, 15)] * 2,
                "segment_name": ["All segments", "bought before"],
                "treatment_users": [3015, 900],
                "control_users": [770, 220],
                "treatment_conversion": [0.0252, 0.04],
                "control_conversion": [0.0195, 0.03],
                "uplift_absolute": [0.0057, 0.01],
                "uplift_ci_low": [-0.005, -0.01],
                "uplift_ci_high": [0.016, 0.03],
                "conversion_ratio": [1.29, 1.3],
                "ratio_ci_low": [0.75, 0.6],
                "ratio_ci_high": [2.24, 2.8],
                "p_value": [0.35, 0.5],
                "status": ["ok", "ok"],
            }
        ),
        "campaign_test_plan": pd.DataFrame(
            {
                "campaign_type": ["cross_sell", "cross_sell"],
                "segment_name": ["All segments", "Champions"],
                "audience_users": [1088, 300],
                "control_users": [91, 25],
                "baseline_conversion": [0.059, 0.1],
                "mde_absolute": [0.072, 0.15],
                "mde_relative": [1.22, 1.5],
                "status": ["ok", "ok"],
            }
        ),
    }


def _performance() -> pd.DataFrame:
    return pd.DataFrame({
        "day": [dt.date(2020, 4, 1)] * 3 + [dt.date(2020, 4, 2)],
        "model": ["als", "als", "popular", "als"], "rank": [1, 2, 1, 1],
        "segment": ["all"] * 4, "impressions": [100, 100, 50, 100],
        "clicks": [12, 5, 2, 8], "carts": [3, 1, 0, 2], "purchases": [2, 1, 0, 1],
        "click_through_rate": [0.12, 0.05, 0.04, 0.08],
        "conversion_rate": [0.02, 0.01, 0.0, 0.01], "status": ["ok"] * 4, "message": [""] * 4,
    })  # fmt: skip


def _exports(root: Path, performance: pd.DataFrame | None) -> Path:
    folder = root / "exports"
    (folder / "parquet").mkdir(parents=True)
    frames = _frames()
    if performance is not None:
        frames["recommendation_performance"] = performance
    for name, frame in frames.items():
        frame.to_parquet(folder / "parquet" / f"{name}.parquet", index=False)
    return folder


def _run(monkeypatch: pytest.MonkeyPatch, folder: Path, language: str = "en") -> AppTest:
    monkeypatch.setenv("AMAZING_EXPORTS_DIR", str(folder))
    monkeypatch.delenv("AMAZING_API_URL", raising=False)
    app = AppTest.from_file(str(APP_PATH), default_timeout=120)
    app.session_state["language"] = language
    app.switch_page("views/decisions.py")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _cells(app: AppTest) -> str:
    return "\n".join(frame.value.to_csv() for frame in app.dataframe)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_decisions_page_with_click_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    app = _run(monkeypatch, _exports(tmp_path, _performance()), language)
    assert app.title[0].value == text("decisions.title", language)  # type: ignore[arg-type]
    assert [s.value for s in app.subheader] == [
        text(k, language)  # type: ignore[arg-type]
        for k in ("decisions.stock.title", "decisions.price.title", "decisions.campaigns.title",
                  "decisions.reco.title")
    ]  # fmt: skip
    assert not [i for i in app.info if "recommendation_performance" in i.value]
    cells = _cells(app)
    assert "Lower the price 10%" in cells and "demo_recent_visitors" in cells
    assert len(app.dataframe) == 5  # stock, prices, campaign results, test plan, click-through
    clicks = app.dataframe[4].value
    # pooled per model: als 25 clicks on 300 impressions, popular 2 on 50
    shown = dict(zip(clicks.iloc[:, 0], clicks.iloc[:, 2], strict=True))
    assert shown["als"] == "25" and shown["popular"] == "2"
    assert "kids.carriage" in "\n".join(c.value for c in app.caption)


NOT_MEASURED = pd.DataFrame({
    "day": [None], "model": [None], "rank": [None], "segment": [None], "impressions": [None],
    "clicks": [None], "carts": [None], "purchases": [None], "click_through_rate": [None],
    "conversion_rate": [None], "status": ["no_impressions"],
    "message": ["no impressions logged yet"],
})  # fmt: skip


@pytest.mark.parametrize("exported", ["missing", "empty", "not_measured"])
def test_decisions_page_says_plainly_when_there_is_no_click_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exported: str
) -> None:
    performance = {"missing": None, "empty": _performance().iloc[0:0],
                   "not_measured": NOT_MEASURED}[exported]  # fmt: skip
    app = _run(monkeypatch, _exports(tmp_path, performance))
    assert [i.value for i in app.info] == [text("decisions.reco.missing", "en")]
    assert len(app.dataframe) == 4  # the other sections still show
    captions = [c.value for c in app.caption]
    assert ("no impressions logged yet" in captions) == (exported == "not_measured")


def test_decisions_tables_and_charts() -> None:
    frames = _frames()
    stock = decisions.stock_table(frames["stock_plan"], frames["stock_plan_backtest"])
    assert stock["series_id"].tolist() == ["all", "category:electronics.audio"]
    assert stock["achieved_service_level"].tolist() == [0.875, 0.964]
    no_backtest = decisions.stock_table(frames["stock_plan"], None)
    assert no_backtest["achieved_service_level"].isna().all()
    mixed = pd.concat([_performance(), NOT_MEASURED], ignore_index=True)
    measured, message = decisions.measured_performance(mixed)
    assert measured is not None and len(measured) == 4 and message is None
    assert decisions.measured_performance(NOT_MEASURED) == (None, "no impressions logged yet")
    assert decisions.measured_performance(None) == (None, None)
    by_model = decisions.click_through_by_model(_performance())
    assert by_model["click_through_rate"].tolist() == pytest.approx([25 / 300, 2 / 50])
    assert by_model["conversion_rate"].tolist() == pytest.approx([4 / 300, 0.0])
    assert decisions.suggestion_table(frames["price_suggestions"])["product_id"].tolist() == [
        11,
        12,
    ]
    assert decisions.campaign_table(frames["campaign_results"]).shape[0] == 1
    assert decisions.test_plan_table(frames["campaign_test_plan"]).shape[0] == 1
    for chart in (
        decisions.service_level_chart(frames["stock_plan_backtest"], "fr"),
        decisions.elasticity_chart(frames["price_elasticity"], "en"),
        decisions.click_through_by_rank_chart(_performance(), "en"),
    ):
        spec = chart.to_dict()
        assert spec["title"]
        layers = spec.get("layer", [spec])
        titles = [layer["encoding"][axis]["title"] for layer in layers[:1] for axis in ("x", "y")]
        assert all(titles), titles
    service = decisions.service_level_chart(frames["stock_plan_backtest"], "fr").to_dict()
    assert service["title"].endswith("(cible 95%, en pointillés)")
