"""The sales forecasting's card."""

from __future__ import annotations

from amazing_analytics.model_cards.markdown import GENERATED_NOTE, bullets, count, number, table
from amazing_analytics.model_cards.reader import Card, WarehouseReader
from amazing_analytics.model_cards.sections import slices_section


def forecasting_card(warehouse: WarehouseReader) -> Card | None:
    if not warehouse.has("marts.forecast_evaluation"):
        return None
    rows = warehouse.rows(
        "select measure, model, metric, value, n from marts.forecast_evaluation "
        "where series_id = 'all' and status = 'ok' and metric in ('mase', 'smape', 'mae', 'coverage') "
        "order by measure, model, metric"
    )
    skipped = warehouse.rows(
        "select distinct model, reason from marts.forecast_evaluation where status <> 'ok' "
        "order by all limit 5"
    )
    selected = (
        warehouse.rows(
            "select distinct measure, model from marts.sales_forecast "
            "where is_selected and series_id = 'all' order by all"
        )
        if warehouse.has("marts.sales_forecast")
        else []
    )
    last_day = (
        warehouse.rows("select max(kpi_date) from marts.kpi_daily")[0][0]
        if warehouse.has("marts.kpi_daily")
        else None
    )
    header = ["measure", "model", "MASE", "sMAPE %", "MAE", "80 % coverage", "points"]
    text = f"""# Model card: sales forecasting

{GENERATED_NOTE}

## Purpose and data
Daily revenue and units for the next var forecast_horizon_days days, for the shop, the focus
brand, each category family and the large categories (`sales_forecast`), from
`int_sales_series_daily`; each series' model is chosen by its backtest error.

- **Last trained**: on the data up to {last_day or "–"} (rolling-origin backtest, var
  forecast_origins origins).

## Metrics against baselines (the whole shop)
{table(header, _table_rows(rows, selected))}
## Worst slices
{slices_section(warehouse, "forecasting")}
## Limitations
{bullets(_limitations(skipped))}"""
    return Card("sales_forecasting", text)


def _table_rows(rows: list[tuple], selected: list[tuple]) -> list[list[str]]:
    """One line per measure and model: its whole-shop metrics side by side."""
    pivot: dict[tuple[str, str], dict[str, tuple[float, int]]] = {}
    for measure, model, metric, value, n in rows:
        pivot.setdefault((measure, model), {})[metric] = (value, n)
    return [
        [
            measure,
            model + (" (selected)" if (measure, model) in set(selected) else ""),
            number(values.get("mase", (None, 0))[0]),
            number(values.get("smape", (None, 0))[0], 1),
            number(values.get("mae", (None, 0))[0]),
            number(values.get("coverage", (None, 0))[0]),
            count(max((n for _v, n in values.values()), default=None)),
        ]
        for (measure, model), values in sorted(pivot.items())
    ]


def _limitations(skipped: list[tuple]) -> list[str]:
    limitations = [
        "The whole-shop table has no interval on MASE; the worst slices' intervals resample the "
        "backtest origins (weekly blocks of days), so with few origins they are wide.",
        "MASE < 1 beats the seasonal naive forecast; the naive models are the baselines.",
        "Families with little history are forecast only above var forecast_min_category_units.",
    ]
    limitations += [f"{model} skipped: {reason}" for model, reason in skipped if reason]
    return limitations
