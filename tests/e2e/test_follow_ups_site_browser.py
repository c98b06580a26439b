"""The published result page shows its follow-up status and the objection with its decision, and nothing
internal: rendered from the public API and opened in headless Chromium (skipped without a browser unless
``DUALDRAW_REQUIRE_BROWSER=1``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dualdraw.entrypoints.cli import main as dualdraw_cli
from dualdraw.v1 import follow_ups_pb2 as pb
from dualdraw.v1 import results_pb2
from tests.evidence_helpers import upload_bytes

from .test_results_publication_e2e import Drawn, drawn, record_all, result  # noqa: F401 - drawn: fixture
from .test_site_browser import ARTIFACTS, browser  # noqa: F401 - browser: fixture


def test_the_result_page_shows_follow_up_status_and_the_objection(
    drawn: Drawn,  # noqa: F811 - the fixture imported above
    browser: object,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    driver: WebDriver = browser  # type: ignore[assignment]
    d = drawn
    record_all(d)
    target = d.assignments[0]
    d.client.correct_result(
        result(d, target.position, results_pb2.OUTCOME_PROBLEM_CORRECTED, findings="标签不全，责令整改"),
        reason="补充检查发现",
    )
    d.client.publish_results(d.draw.id)
    evidence = upload_bytes(d.client, tmp_path, b"a photo of the missing label", "label.jpg")
    opened = d.client.open_follow_up(
        d.draw.id,
        target.position,
        pb.FOLLOW_UP_KIND_RECTIFICATION,
        note="内部备注：负责人电话",
        evidence_files=[evidence],
    )
    due = opened.due_date
    d.client.file_objection(d.draw.id, target.position, dt.date.fromisoformat(d.today), "整改要求依据不足")
    (objection,) = list(d.client.iter_objections(draw=d.draw.id))
    d.client.decide_objection(objection.name, upheld=False, reason="经复核检查结果无误")

    site = tmp_path / "site"
    code = dualdraw_cli.main(["publish", "site", str(site), "--server", d.served.target])
    assert code == 0, capsys.readouterr()
    html = (site / "draws" / f"{d.draw.id}.html").read_text(encoding="utf-8")
    assert "内部备注" not in html  # the note and the evidence stay inside
    assert evidence[0] not in html

    driver.get((site / "draws" / f"{d.draw.id}.html").as_uri())
    WebDriverWait(driver, 10).until(lambda drv: "后续处置" in drv.find_element(By.TAG_NAME, "main").text)
    page = driver.find_element(By.TAG_NAME, "main").text
    assert f"后续处置：责令整改，办理中，办理期限 {due.year:04d}-{due.month:02d}-{due.day:02d}" in page
    assert "整改要求依据不足" in page
    assert "异议不成立" in page
    assert "经复核检查结果无误" in page
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "site-follow-ups.png"))

    driver.get((site / "objects" / f"{target.credit_code}.html").as_uri())
    WebDriverWait(driver, 10).until(lambda drv: "后续处置" in drv.find_element(By.TAG_NAME, "main").text)
    assert "异议不成立" in driver.find_element(By.TAG_NAME, "main").text
    assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
