"""Headless Chromium for the browser tests: Debian's chromium and chromedriver, driven by Selenium.

Selenium is given the driver's path, so selenium-manager never looks for (or downloads) a driver or a browser;
`make browser` installs both packages when they are missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
# Quiet, offline, reproducible: no GPU, no QUIC, no first-run pages, no background calls home, no sync.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,860",
    "--force-device-scale-factor=1",
)


def start_chromium(profile: Path) -> webdriver.Chrome:
    """A headless Chromium with a fresh profile folder; fails with the fix when the packages are missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(
            f"the browser tests need Debian's chromium and chromium-driver, and {', '.join(missing)} is missing: "
            "run `make browser` (as root it installs them), or set CHROMIUM and CHROMEDRIVER to their paths",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
