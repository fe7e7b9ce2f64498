"""The console end to end: an SOS press travels from a device to a rated visit, through
the browsers of a dispatcher, a care worker and the family, against a real `anxin up`.

Each step leaves a screenshot in `test-artifacts/e2e-console/` (and the Chinese console
in `test-artifacts/e2e-console-zh-CN/`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Geolocation, Page, expect, sync_playwright

from tests.e2e.browser import ARTIFACTS, Screenshots, launch
from tests.e2e.stack import HOME_ID, HOME_LAT, HOME_LON, PASSWORD, WORKER_CODE, AnxinUp, Scenario

pytestmark = pytest.mark.e2e

LIVE_MS = 20_000
"""How long a change may take to reach a browser (SSE, or the worker's 10 s poll)."""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnxinUp]:
    running = AnxinUp(tmp_path_factory.mktemp("e2e") / "data", homes=3)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


class Person:
    """One person's browser tab (own context: own session and storage), failing the test
    on any script error the page raises."""

    def __init__(
        self, browser: Browser, up: AnxinUp, *, locale: str, at: Geolocation | None = None
    ) -> None:
        self.context = browser.new_context(
            viewport={"width": 1400, "height": 1000},
            locale=locale,
            geolocation=at,
            permissions=["geolocation"] if at else [],
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(up.url)

    def log_in(self, username: str) -> Page:
        page = self.page
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("form.login button[type=submit]")
        expect(page.locator(".who-name")).to_have_text(username)
        return page

    def close(self) -> None:
        self.context.close()
        assert self.errors == []


def test_an_sos_press_becomes_a_visit_the_family_rates(
    up: AnxinUp, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Scenario(up)
    scenario.publish_vitals(hours=12)
    shots = Screenshots()

    dispatcher = Person(browser, up, locale="en-GB")
    page = dispatcher.log_in("e2e-dispatcher")
    with shots.step(page, "dispatcher-queue"):
        expect(page.locator(".live-state")).to_have_attribute("data-state", "live")

    with shots.step(page, "dispatcher-sos-arrives-live"):
        scenario.press_sos()
        item = page.locator(".queue-item", has_text=HOME_ID)
        expect(item).to_be_visible(timeout=LIVE_MS)
        expect(item).to_contain_text("SOS button")
        expect(item).to_contain_text("Critical")

    detail = page.locator(".detail")
    with shots.step(page, "dispatcher-acknowledged"):
        item.click()
        expect(detail).to_contain_text("Wang Fang")  # the resident, from the homes list
        expect(detail.locator(".history")).to_contain_text("Opened")
        detail.locator("[data-action=acknowledge]").click()
        expect(detail.locator(".badges")).to_contain_text("Acknowledged")

    dialog = page.locator("dialog.dispatch-dialog")
    with shots.step(page, "dispatcher-suggested-workers"):
        detail.locator("[data-action=dispatch]").click()
        candidate = dialog.locator(".candidate", has_text="Zhang Wei")
        expect(candidate).to_contain_text(re.compile(r"\d+ m away"))

    with shots.step(page, "dispatcher-dispatched"):
        candidate.locator("input[type=radio]").check()  # the dispatcher's own choice
        dialog.locator("button[type=submit]").click()
        expect(detail.locator(".badges")).to_contain_text("Dispatched")
    dispatcher.close()

    # At the home, and willing to share the location with the console.
    at_home: Geolocation = {"latitude": HOME_LAT, "longitude": HOME_LON, "accuracy": 15}
    worker = Person(browser, up, locale="en-GB", at=at_home)
    page = worker.log_in("e2e-worker")
    with shots.step(page, "worker-offer"):
        offer = page.locator(".offers-panel .job")
        expect(offer).to_contain_text("Medical", timeout=LIVE_MS)
        offer.locator("[data-action=accept]").click()
    job = page.locator(".jobs-panel .job")
    with shots.step(page, "worker-check-in"):
        job.locator("[data-action=start]").click()
        # Filled in from the browser's location, which the worker allowed.
        expect(job.locator("input[name=lat]")).to_have_value(re.compile(rf"^{HOME_LAT:.4f}"))
        job.locator("input[name=code]").fill(WORKER_CODE)
    with shots.step(page, "worker-on-site"):
        job.locator("[data-action=arrive]").click()
        expect(job).to_have_attribute("data-status", "on_site")
        job.locator("textarea[name=notes]").fill(
            "Helped her up; no injury. Her daughter is on the way."
        )
    with shots.step(page, "worker-completed"):
        job.locator("[data-action=complete]").click()
        expect(page.locator(".done-panel .job")).to_contain_text("Completed")
    worker.close()

    family = Person(browser, up, locale="en-GB")
    page = family.log_in("e2e-family")
    service = page.locator(".services-panel .job[data-status=completed]")
    with shots.step(page, "family-home"):
        expect(page.locator(".status-panel")).to_contain_text("Wang Fang")
        expect(page.locator(".chart[data-chart=heart_rate] canvas")).to_be_visible()
        expect(service).to_contain_text("Medical")
    with shots.step(page, "family-rated"):
        service.locator(".star-input label").nth(4).click()
        service.locator(".star-input button[type=submit]").click()
        expect(service.locator(".stars")).to_have_text("★★★★★")
    with shots.step(page, "family-verified-worker"):
        verify = page.locator(".verify")
        verify.locator("input[name=code]").fill(WORKER_CODE)
        verify.locator("button[type=submit]").click()
        expect(verify.locator(".verify-answer")).to_contain_text("Zhang Wei")
        expect(verify.locator(".verify-answer")).to_contain_text("Valid")
    family.close()

    alert = scenario.alert()
    assert alert is not None
    assert alert["status"] == "resolved"  # the worker's completion resolved it
    with capsys.disabled():
        print(f"\nconsole screenshots: {_relative(ARTIFACTS)}")


def test_the_console_speaks_the_browsers_language_until_told_otherwise(
    up: AnxinUp, browser: Browser
) -> None:
    shots = Screenshots(ARTIFACTS.with_name("e2e-console-zh-CN"))
    person = Person(browser, up, locale="zh-CN")
    page = person.page
    with shots.step(page, "login"):
        expect(page.locator("#login-title")).to_have_text("登录")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    chinese = Person(browser, up, locale="zh-CN")
    with shots.step(chinese.page, "dispatcher-queue"):
        chinese.log_in("e2e-dispatcher")
        expect(chinese.page.locator("#queue-title")).to_contain_text("进行中的告警")
        expect(chinese.page.locator(".jobs")).not_to_contain_text("加载中")
    chinese.close()
    page.select_option("#language", "en")
    expect(page.locator("#login-title")).to_have_text("Log in")
    page.reload()
    expect(page.locator("#login-title")).to_have_text("Log in")  # remembered
    person.close()

    english = Person(browser, up, locale="en-US")
    expect(english.page.locator("#login-title")).to_have_text("Log in")
    english.close()


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
