"""The dashboard on a small warehouse built in this test session: every page through Streamlit's
AppTest (no exception, headline numbers equal to the marts, both languages, no opt-out in the
campaign CSV), then every page in a real headless Chromium driven by Playwright.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from amazing_analytics.dashboard import APP_PATH, campaigns, formatting
from amazing_analytics.dashboard.navigation import PAGES
from amazing_analytics.dashboard.texts import text
from conftest import REPO, Build, copy_project, run_dbt

#: Screenshots of the browser test (git-ignored).
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: This project's dashboard tests listen in 8500-8599 only.
PORTS = range(8570, 8600)


@dataclass(frozen=True)
class DashboardData:
    build: Build
    exports: Path
    gdpr_live: Path
    seed_opt_out: int
    live_opt_out: int


@pytest.fixture(scope="module")
def dashboard_data(tmp_path_factory: pytest.TempPathFactory) -> DashboardData:
    from amazing_analytics.generate import generate_events

    root = tmp_path_factory.mktemp("dashboard")
    generate_events(40_000, 7, root / "demo")
    glob = str(root / "demo" / "*.csv.gz")
    # the most active buyer objects to personalisation in the seed (applied by the build)
    seed_opt_out = duckdb.sql(
        f"select user_id from read_csv('{glob}') where event_type = 'purchase' "
        "group by user_id order by count(*) desc, user_id limit 1"
    ).fetchall()[0][0]
    project = copy_project(root / "project")
    (project / "seeds" / "gdpr_personalisation_opt_outs.csv").write_text(
        f"user_id,opted_out_at\n{seed_opt_out},2020-01-01 00:00:00\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AMAZING_EXPORTS_DIR", raising=False)  # export beside this warehouse
        build = run_dbt(project, glob, "build")
    assert build.returncode == 0, build.output[-6000:]
    # the build wrote its exports beside the warehouse (bi_exports)
    exports = build.warehouse.parent / "exports"
    assert (exports / "parquet" / "kpi_objectives.parquet").is_file()
    # a customer in a campaign audience opts out after the build (amazing gdpr's live list)
    live_opt_out = build.scalar(
        "select user_id from marts.campaign_audiences order by purchase_probability desc nulls last, user_id limit 1"
    )
    gdpr_live = root / "gdpr_live"
    gdpr_live.mkdir()
    (gdpr_live / "personalisation_opt_outs.csv").write_text(
        f"user_id,opted_out_at\n{live_opt_out},2020-05-01 09:00:00\n"
    )
    return DashboardData(build, exports, gdpr_live, int(seed_opt_out), int(live_opt_out))


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, dashboard_data: DashboardData) -> DashboardData:
    monkeypatch.setenv("AMAZING_EXPORTS_DIR", str(dashboard_data.exports))
    monkeypatch.setenv("AMAZING_GDPR_LIVE_DIR", str(dashboard_data.gdpr_live))
    monkeypatch.delenv("AMAZING_API_URL", raising=False)
    return dashboard_data


def run_page(page_file: str, language: str = "en") -> AppTest:
    app = AppTest.from_file(str(APP_PATH), default_timeout=180)
    app.session_state["language"] = language
    app.switch_page(f"views/{page_file}")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def markdown_text(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


@pytest.mark.parametrize("page_file,title_key", [(p.file, p.title_key) for p in PAGES])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_page_runs_in_both_languages(
    app_env: DashboardData, page_file: str, title_key: str, language: str
) -> None:
    app = run_page(page_file, language)
    assert app.title, f"{page_file} has no title"
    assert app.title[0].value == text(title_key, language)  # type: ignore[arg-type]
    assert not [w for w in app.warning if "not built" in w.value]
    # the sidebar switch is there and in the page's language
    assert app.sidebar.radio[0].label == text("app.language", language)  # type: ignore[arg-type]


def test_overview_shows_the_objectives_of_the_mart(app_env: DashboardData) -> None:
    rows = app_env.build.query(
        "select kpi_name, current_value, change_vs_baseline, objective_change, target_value, "
        "objective_status from marts.kpi_objectives order by kpi_order"
    )
    assert len(rows) == 3
    for language in ("en", "fr"):
        app = run_page("overview.py", language)
        metrics = {m.label: m.value for m in app.metric}
        statuses = markdown_text(app)
        for kpi_name, value, change, objective, target, status in rows:
            show = formatting.money if kpi_name == "average_basket" else formatting.percent
            assert metrics[text(f"kpi.{kpi_name}", language)] == show(value, language)  # type: ignore[arg-type]
            verdict = text(
                f"overview.status.{status}",
                language,  # type: ignore[arg-type]
                change=formatting.percent(change, language, signed=True),  # type: ignore[arg-type]
                objective=formatting.percent(objective, language, decimals=0, signed=True),  # type: ignore[arg-type]
                target=show(target, language),  # type: ignore[arg-type]
            )
            assert verdict in statuses, verdict
        met = sum(row[-1] == "met" for row in rows)
        summary = text("overview.summary", language, met=met, total=3)  # type: ignore[arg-type]
        assert summary in [s.value for s in app.subheader]


def test_language_switch_changes_the_page(app_env: DashboardData) -> None:
    app = run_page("overview.py", "en")
    assert app.title[0].value == text("overview.title", "en")
    app.sidebar.radio[0].set_value("fr").run()
    assert not app.exception
    assert app.title[0].value == text("overview.title", "fr")
    assert {m.label for m in app.metric} == {"Taux de conversion", "Panier moyen", "Taux de rebond"}


def test_headline_numbers_equal_the_marts(app_env: DashboardData) -> None:
    build = app_env.build
    quality = run_page("data_quality.py")
    input_rows = build.scalar(
        "select rows_affected from marts.data_quality_report where check_name = 'input_rows'"
    )
    assert formatting.number(input_rows, "en") in markdown_text(quality)

    segments = run_page("segments.py")
    count = build.scalar("select count(*) from marts.segment_profiles")
    assert text("segments.intro", "en", count=count) in markdown_text(segments)

    reco = run_page("recommendations.py")
    selected = build.scalar(
        "select distinct model from marts.recommender_evaluation where is_selected"
    )
    assert f"**{selected}**" in markdown_text(reco)

    privacy = run_page("models_privacy.py")
    opt_outs = build.scalar("select count(*) from marts.customers where is_personalisation_opt_out")
    assert opt_outs == 1
    assert {m.label: m.value for m in privacy.metric}[text("privacy.opt_outs", "en")] == "1"

    campaigns_page = run_page("campaigns.py")
    total = build.scalar("select sum(audience_size) from marts.campaign_audience_sizes")
    assert total == build.scalar("select count(*) from marts.campaign_audiences") and total > 0
    assert formatting.number(total, "en") in markdown_text(campaigns_page)


def record_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """What the app hands to st.download_button, by media file id (AppTest keeps it in memory)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    served: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):  # noqa: ANN001, ANN202
        file_id = original(self, path_or_data, mimetype, kind, filename)
        served[file_id] = path_or_data if isinstance(path_or_data, bytes) else path_or_data.encode()
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
    return served


def downloaded_csv(app: AppTest, served: dict[str, bytes]) -> list[dict[str, str]]:
    url = app.get("download_button")[0].proto.url
    file_id = url.rsplit("/", 1)[-1].split(".")[0]
    return list(csv.DictReader(io.StringIO(served[file_id].decode("utf-8"))))


def test_campaign_csv_has_no_opt_out(
    app_env: DashboardData, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = app_env.build
    served = record_downloads(monkeypatch)
    # the live opt-out is in the built audience: the dashboard must drop it itself
    campaign_type = build.scalar(
        "select campaign_type from marts.campaign_audiences where user_id = ? order by 1 limit 1",
        [app_env.live_opt_out],
    )
    app = AppTest.from_file(str(APP_PATH), default_timeout=180)
    app.switch_page("views/campaigns.py")
    app.run()
    assert not app.exception
    app.selectbox(key="campaign_type_en").set_value(campaign_type).run()
    assert not app.exception
    rows = downloaded_csv(app, served)
    ids = {int(row["user_id"]) for row in rows}
    built = build.scalar(
        "select count(*) from marts.campaign_audiences where campaign_type = ?", [campaign_type]
    )
    control = {
        uid
        for (uid,) in build.query(
            "select user_id from marts.campaign_assignments "
            "where campaign_type = ? and group_name = 'control'",
            [campaign_type],
        )
    }
    # the A/B control group receives nothing (issue 15)
    assert len(rows) == built - len(control | {app_env.live_opt_out})
    assert not ids & control
    assert app_env.live_opt_out not in ids and app_env.seed_opt_out not in ids
    opted_out = {
        uid
        for (uid,) in build.query(
            "select user_id from marts.customers where is_personalisation_opt_out"
        )
    }
    assert not ids & opted_out
    assert list(rows[0]) == list(campaigns.EMAIL_COLUMNS)
    assert {row["campaign_type"] for row in rows} == {campaign_type}


# --- the real browser --------------------------------------------------------------------------


def _free_port() -> int:
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def _wait_for_health(url: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the dashboard exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url}/_stcore/health did not answer ok in {timeout:.0f} s")


@pytest.fixture
def dashboard_server(app_env: DashboardData, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "amazing"),
            "dashboard",
            "--headless",
            "--port",
            str(port),
        ],
        env={**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_for_app(page) -> None:  # noqa: ANN001 - playwright Page
    """As Streamlit's own e2e tests wait: connected, script not running, no skeletons left."""
    from playwright.sync_api import expect

    page.wait_for_timeout(250)
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(
        state="attached", timeout=60_000
    )
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=120_000
    )
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=60_000)
    # charts are drawn asynchronously by vega-embed
    page.wait_for_timeout(800)


def screenshot_whole_page(page, path: Path) -> None:  # noqa: ANN001 - playwright Page
    """Streamlit scrolls inside its main block, so grow the viewport to the content first."""
    height = page.evaluate(
        "() => { const main = document.querySelector(\"[data-testid='stMain']\");"
        " return main ? main.scrollHeight : document.body.scrollHeight; }"
    )
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(max(int(height), 800), 6000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 1000})


@pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (make install installs it as root: make browser)",
)
def test_every_page_in_a_real_browser(dashboard_server: str) -> None:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for spec in PAGES:
                slug = spec.url_path
                # the default page lives at the root URL
                path = "" if spec is PAGES[0] else slug
                page.goto(f"{dashboard_server}/{path}", wait_until="domcontentloaded")
                wait_for_app(page)
                title = text(spec.title_key, "en")
                heading = page.locator("h1").first
                assert heading.inner_text().strip() == title, slug
                assert page.get_by_test_id("stException").count() == 0, slug
                assert page.get_by_text("Page not found").count() == 0, slug
                screenshot_whole_page(page, SCREENSHOTS / f"{slug}.png")
        finally:
            browser.close()
    assert {p.url_path for p in PAGES} <= {shot.stem for shot in SCREENSHOTS.glob("*.png")}
