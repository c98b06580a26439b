"""The public site end to end: publish results, render the site from the public API, open it in headless
Chromium (Debian's package), search a credit code and check what a person sees; keeps a screenshot.

Needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver). Without them the
test is skipped locally; ``DUALDRAW_REQUIRE_BROWSER=1`` (set by .ci/run) turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.v1 import results_pb2

from .test_results_publication_e2e import Drawn, drawn, record_all, result  # noqa: F401 - drawn: fixture

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = os.environ.get("DUALDRAW_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("DUALDRAW_CHROMEDRIVER", "/usr/bin/chromedriver")


def _browser_required() -> bool:
    return os.environ.get("DUALDRAW_REQUIRE_BROWSER", "") not in ("", "0", "false")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    problem = ""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        problem = f"selenium is not installed: {exc}"
    if not problem and not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        problem = f"{CHROMIUM} or {CHROMEDRIVER} missing (apt-get install chromium chromium-driver)"
    if problem:
        if _browser_required():
            pytest.fail(f"a browser is required (DUALDRAW_REQUIRE_BROWSER=1): {problem}")
        pytest.skip(problem)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=390,844",  # a phone's viewport
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def test_a_person_finds_a_published_result_by_credit_code(
    drawn: Drawn,  # noqa: F811 - the fixture imported above
    browser: object,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    driver: WebDriver = browser  # type: ignore[assignment]
    d = drawn
    record_all(d)
    target = d.assignments[0]
    d.client.correct_result(
        result(
            d, target.position, results_pb2.OUTCOME_PROBLEM_CORRECTED, findings="气瓶检验标志缺失，已责令改正"
        ),
        reason="复核后更正",
    )
    d.client.publish_results(d.draw.id)
    unpublished = d.client.get_object(target.credit_code).display_name  # name of the object searched for

    site = tmp_path / "site"
    code = dualdraw_cli.main(["publish", "site", str(site), "--server", d.served.target])
    assert code == 0, capsys.readouterr()
    assert (site / "objects" / f"{target.credit_code}.html").is_file()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in index
    assert 'name="viewport"' in index

    driver.get((site / "index.html").as_uri())
    box = driver.find_element(By.ID, "q")
    box.send_keys(target.credit_code, Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda drv: "找到" in drv.find_element(By.ID, "search-status").text)
    status = driver.find_element(By.ID, "search-status").text
    visible = [li for li in driver.find_elements(By.CSS_SELECTOR, "#object-list li") if li.is_displayed()]
    assert "找到 1 家企业" in status
    assert [li.find_element(By.TAG_NAME, "a").text for li in visible] == [unpublished]
    assert "发现问题已责令改正" in visible[0].text
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "site-search.png"))

    visible[0].find_element(By.TAG_NAME, "a").click()
    WebDriverWait(driver, 10).until(
        lambda drv: target.credit_code in drv.find_element(By.TAG_NAME, "main").text
    )
    page = driver.find_element(By.TAG_NAME, "main").text
    assert unpublished in page
    assert "气瓶检验标志缺失，已责令改正" in page
    assert "复核后更正" in page
    team_names = [m.name for m in target.team]
    assert all(name in page for name in team_names)
    # readable on a phone: the page does not scroll sideways at a 390 px viewport
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")

    assert driver.save_screenshot(str(ARTIFACTS / "site-object.png"))
