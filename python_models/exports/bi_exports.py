"""The BI hand-off, at the end of every build: each mart of schema marts (and a sample of the
quarantine) written to exports/parquet/<table>.parquet beside the warehouse, each file replaced
atomically, with a Power Query file per table and a .pbids for Power BI. One row per file.
Every mart is ref'd here, so the export runs after all of them and shows in the lineage (a
pytest checks that no mart is missing from this list). Thin wrapper over
amazing_analytics.exports.export_relations.
"""

from amazing_analytics.exports import (
    QUARANTINE_SAMPLE,
    database_path,
    export_log,
    export_relations,
    exports_dir,
    quarantine_sample,
)


def model(dbt, session):
    dbt.config(materialized="table")
    marts = {
        "brand_performance": dbt.ref("brand_performance"),
        "campaign_assignments": dbt.ref("campaign_assignments"),
        "campaign_audience_sizes": dbt.ref("campaign_audience_sizes"),
        "campaign_audiences": dbt.ref("campaign_audiences"),
        "campaign_results": dbt.ref("campaign_results"),
        "campaign_test_plan": dbt.ref("campaign_test_plan"),
        "customer_features": dbt.ref("customer_features"),
        "customer_propensity": dbt.ref("customer_propensity"),
        "customer_rfm": dbt.ref("customer_rfm"),
        "customer_segments": dbt.ref("customer_segments"),
        "customers": dbt.ref("customers"),
        "daily_category_sales": dbt.ref("daily_category_sales"),
        "data_quality_anomalies": dbt.ref("data_quality_anomalies"),
        "data_quality_by_file": dbt.ref("data_quality_by_file"),
        "data_quality_report": dbt.ref("data_quality_report"),
        "feature_drift": dbt.ref("feature_drift"),
        "forecast_backtest": dbt.ref("forecast_backtest"),
        "forecast_evaluation": dbt.ref("forecast_evaluation"),
        "forecast_feature_importance": dbt.ref("forecast_feature_importance"),
        "item_embeddings": dbt.ref("item_embeddings"),
        "kpi_daily": dbt.ref("kpi_daily"),
        "kpi_objectives": dbt.ref("kpi_objectives"),
        "kpi_objectives_weekly": dbt.ref("kpi_objectives_weekly"),
        "kpi_weekly": dbt.ref("kpi_weekly"),
        "model_fairness_audit": dbt.ref("model_fairness_audit"),
        "orders": dbt.ref("orders"),
        "popular_products": dbt.ref("popular_products"),
        "prediction_drift": dbt.ref("prediction_drift"),
        "price_elasticity": dbt.ref("price_elasticity"),
        "price_suggestions": dbt.ref("price_suggestions"),
        "processing_register": dbt.ref("processing_register"),
        "product_performance": dbt.ref("product_performance"),
        "products": dbt.ref("products"),
        "propensity_evaluation": dbt.ref("propensity_evaluation"),
        "propensity_feature_importance": dbt.ref("propensity_feature_importance"),
        "recommendations": dbt.ref("recommendations"),
        "recommendation_log_reconciliation": dbt.ref("recommendation_log_reconciliation"),
        "recommendation_performance": dbt.ref("recommendation_performance"),
        "recommender_evaluation": dbt.ref("recommender_evaluation"),
        "rfm_grid": dbt.ref("rfm_grid"),
        "sales_forecast": dbt.ref("sales_forecast"),
        "sales_series_history": dbt.ref("sales_series_history"),
        "segment_map": dbt.ref("segment_map"),
        "segment_profiles": dbt.ref("segment_profiles"),
        "segmentation_quality": dbt.ref("segmentation_quality"),
        "serving_bundle": dbt.ref("serving_bundle"),
        "session_item_neighbours": dbt.ref("session_item_neighbours"),
        "session_recommender_evaluation": dbt.ref("session_recommender_evaluation"),
        "sessions": dbt.ref("sessions"),
        "similar_products": dbt.ref("similar_products"),
        "stock_plan": dbt.ref("stock_plan"),
        "stock_plan_backtest": dbt.ref("stock_plan_backtest"),
        "user_embeddings": dbt.ref("user_embeddings"),
    }
    marts[QUARANTINE_SAMPLE] = quarantine_sample(dbt.ref("events_quarantine"))
    exported = export_relations(marts, exports_dir(database_path(session)))
    return export_log(exported)
