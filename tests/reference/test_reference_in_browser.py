"""The reference page in headless Chromium: every operation listed, and "Try it out" succeeds.

Uses Debian's `chromium` and `chromium-driver` (never a downloaded browser); skipped, with the
reason shown, where they are not installed. `.ci/run` installs them and fails if this test skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_local.conftest import Server

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("reference")]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
WAIT_SECONDS = 60

needs_chromium = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Debian chromium + chromium-driver are not installed "
    "(apt-get install -y chromium chromium-driver; .ci/run does it)",
)


@pytest.fixture
def browser() -> Iterator[Any]:
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,2000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _operations() -> set[tuple[str, str]]:
    document = json.loads(CHECKED_IN.read_text())
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


@needs_chromium
def test_the_reference_lists_every_operation_and_tries_one_against_this_server(
    demo_server: Server, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_SECONDS)
    # Given the reference page of a running server, opened in a browser
    browser.get(demo_server.url + "/docs")
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(_operations()))
    # Then every operation of the document is listed
    listed = {
        (
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.strip(),
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"),
        )
        for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
    }
    assert listed == _operations()
    # When the demo key is entered under Authorize
    browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    key_input = wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input")))
    key_input.send_keys(demo_server.world.keys["demo"])
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()
    # And "Try it out" runs the organization-wide list
    block = browser.find_element(By.CSS_SELECTOR, "#operations-Leased_accounts-listLeasedAccounts")
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda _driver: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    wait.until(lambda _driver: block.find_elements(By.CSS_SELECTOR, ".execute"))
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    live = ".live-responses-table tbody"
    wait.until(lambda _driver: block.find_elements(By.CSS_SELECTOR, f"{live} .response-col_status"))
    # Then the page called this server and showed a 200 with the demo organization's leases
    status = block.find_element(By.CSS_SELECTOR, f"{live} .response-col_status").text.strip()
    body = block.find_element(By.CSS_SELECTOR, f"{live} .response-col_description").text
    assert status.startswith("200"), body
    assert "sa_pool_2" in body
    assert demo_server.url in block.find_element(By.CSS_SELECTOR, ".request-url").text
