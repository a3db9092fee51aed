"""The factory page of ``apfctl serve`` in a real headless Chromium (Debian's, driven by Playwright).

A real ``apfctl serve`` process serves a ledger of a few hours of cycles; the page must list
every queue, narrow them with the filter, sort them, and draw non-empty plots on a queue's
page. A corrupt ledger is said on the page. Screenshots are kept in ``tests/artifacts/``
(or ``$APFCTL_TEST_ARTIFACTS``) for people to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from apfctl.ledger import Ledger
from tests.monitor.monitor_helpers import record, typed_record, write_factory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("APFCTL_TEST_ARTIFACTS", Path(__file__).parents[1] / "artifacts"))
QUEUES = ["BNL_PROD-gridgk01_A", "BNL_PROD-gridgk01_B", "CERN_PROD_1", "MWT2_UCORE", "SLAC_EMPTY"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                                reason="chromium missing (Debian chromium, chromium-driver: make system-tools)")


def history(queue: str, now: dt.datetime, index: int) -> list[dict]:
    """Cycles every 10 minutes over six hours, with numbers that change, and held reasons."""
    records = []
    for step in range(36):
        minutes = 360 - step * 10
        one = record(queue, minutes, now=now, submitted=(step + index) % 5, pending=step % 7 + index)
        one["batch"]["running"] = 10 + step + index
        one["batch"]["held"] = step % 3
        one["batch"]["held_reasons"] = [{"code": 12, "subcode": 2, "count": 2, "example": "Failed to execute"},
                                        {"code": 34, "subcode": None, "count": 1, "example": "memory"}]
        one["decision"]["trace"] = [{"rule": "Ready", "in": 0, "out": 117, "msg": "Ready:in=0,ret=117"},
                                    {"rule": "MaxPerCycle", "in": 117, "out": 9,
                                     "msg": "MaxPerCycle:in=117,maxpercycle=9,ret=9"}]
        records.append(one)
    if index == 1:
        records[-1]["batch"] = {"plugin": "Condor", "ok": False, "error": "schedd unreachable"}
    if queue == "MWT2_UCORE":                       # a unified queue: SCORE and MCORE pilots
        typed = typed_record(queue, 0, now=now)
        for section in ("batch", "decision", "submission"):
            records[-1][section]["types"] = typed[section]["types"]
    return records


@pytest.fixture
def factory(tmp_path: Path) -> tuple[Path, Path]:
    config = write_factory(tmp_path / "conf", {name: {} for name in QUEUES})
    config.write_text(config.read_text() + f"baseLogDir = {tmp_path / 'logs'}\n")
    (tmp_path / "logs").mkdir()
    state = tmp_path / "state"
    now = dt.datetime.now(dt.UTC)
    with Ledger(state) as ledger:
        for index, name in enumerate(QUEUES[:-1]):
            ledger.store(history(name, now, index))
    return config, state


def start_server(config: Path, state: Path) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, APFCTL_CONFIG=str(config), APFCTL_STATE_DIR=str(state))
    process = subprocess.Popen([sys.executable, "-m", "apfctl", "serve", "--port", "0"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    line = process.stderr.readline()
    assert "http://127.0.0.1:" in line, line
    return process, "http://127.0.0.1:" + line.split("http://127.0.0.1:")[1].split("/")[0] + "/"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM or "chromium", headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 900}, timeout=60_000)
        context.set_default_timeout(20_000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_the_page_lists_every_queue_filters_sorts_and_draws_a_queue(factory, browser):
    config, state = factory
    process, url = start_server(config, state)
    try:
        page = browser
        page.goto(url)
        page.wait_for_selector("#queues tbody tr.queue-row")
        names = page.locator("#queues tbody tr.queue-row").evaluate_all("rows => rows.map(r => r.dataset.queue)")
        assert names == sorted(QUEUES)
        failing = page.locator('tr[data-queue="BNL_PROD-gridgk01_B"]')
        assert failing.get_attribute("data-health") == "failing"
        assert "batch: schedd unreachable" in failing.locator("td.msg").inner_text()
        assert "MaxPerCycle:in=117" in page.locator('tr[data-queue="CERN_PROD_1"] td.msg').inner_text()
        assert page.locator('tr[data-queue="SLAC_EMPTY"] td.age').inner_text() == "never"
        assert page.locator("#problem").is_hidden()
        types = page.locator('tr.type-row[data-queue="MWT2_UCORE"]')   # a row per type under its queue
        assert types.evaluate_all("rows => rows.map(r => r.dataset.type)") == ["MCORE", "SCORE"]
        assert page.locator('tr.queue-row[data-queue="MWT2_UCORE"] + tr.type-row').get_attribute(
            "data-type") == "MCORE"
        score = page.locator('tr.type-row[data-type="SCORE"]')
        assert [score.locator(f"td.{key}").inner_text() for key in ("pending", "held", "running", "submitted")] \
            == ["2", "1", "30", "6"]
        assert "MaxPerCycle:in=78" in score.locator("td.msg").inner_text()
        screenshot(page, "factory-table")

        page.fill("#filter", "BNL_*")
        page.wait_for_function("document.querySelectorAll('#queues tbody tr.queue-row').length === 2")
        assert page.inner_text("#count") == "2 of 5 queues"
        screenshot(page, "factory-table-filtered")
        page.fill("#filter", "")

        page.click('#queues th[data-key="running"]')           # numbers: largest first
        running = page.locator("#queues tbody tr.queue-row td.running").all_inner_texts()
        numbers = [text for text in running if text != "-"]
        assert len(numbers) == 3 and running == [*sorted(numbers, key=int, reverse=True), "-", "-"]
        page.click('#queues th[data-key="running"]')           # again: smallest first, no value still last
        running = page.locator("#queues tbody tr.queue-row td.running").all_inner_texts()
        assert running == [*sorted(numbers, key=int), "-", "-"]

        page.click('tr[data-queue="CERN_PROD_1"] td.queue a')
        page.wait_for_selector("#plots .plot polyline")
        assert page.inner_text("#queue-name") == "CERN_PROD_1"
        for title in ("pilots submitted per cycle", "pilots by state at each cycle",
                      "pilots ended in the hour before each cycle"):
            points = page.locator(f'.plot[data-plot="{title}"] polyline').evaluate_all(
                "lines => lines.map(l => l.points.numberOfItems)")
            assert points and max(points) == 36, (title, points)
        assert page.locator('#held .plot rect').count() == 2
        assert page.locator("#decisions details").count() == 10
        page.locator("#decisions details summary").first.click()
        assert "limited by MaxPerCycle" in page.locator("#decisions details pre").first.inner_text()
        screenshot(page, "queue-page")

        page.goto(url + "#queue/BNL_PROD-gridgk01_B")
        page.wait_for_selector("#errors tr.error")
        assert "schedd unreachable" in page.inner_text("#errors")
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr


def test_a_corrupt_ledger_is_said_on_the_page(factory, browser):
    config, state = factory
    (state / "ledger.sqlite").write_bytes(b"this is not a database" * 100)
    for name in ("ledger.sqlite-wal", "ledger.sqlite-shm"):
        (state / name).unlink(missing_ok=True)
    process, url = start_server(config, state)
    try:
        browser.goto(url)
        browser.wait_for_selector("#problem:not([hidden])")
        text = browser.inner_text("#problem")
        assert "The queues cannot be shown" in text and "is corrupt" in text and "ledger.sqlite" in text
        screenshot(browser, "corrupt-ledger")
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_a_missing_ledger_is_said_on_the_page(tmp_path, browser):
    config = write_factory(tmp_path / "conf", {"ONLY_Q": {}})
    config.write_text(config.read_text() + f"baseLogDir = {tmp_path}\n")
    process, url = start_server(config, tmp_path / "no-state")
    try:
        browser.goto(url)
        browser.wait_for_selector("#problem:not([hidden])")
        assert "No cycle is recorded in the ledger yet" in browser.inner_text("#problem")
        assert browser.locator("#queues tbody tr.queue-row").count() == 1
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert not (tmp_path / "no-state" / "ledger.sqlite").exists()       # looking creates nothing
