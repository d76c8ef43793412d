"""Drive `alignsts ui` from headless Chromium (scripts/ui_screenshot.py, benchmarks/ui_overhead.py
and tests/test_ui.py).

Uses Debian's chromium and chromedriver explicitly (`make sysdeps` installs them), so selenium
downloads nothing; the server runs as `python -m alignsts ui` on a free 127.0.0.1 port.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m alignsts ui` in a subprocess; ``ready_s``: from launch to the first HTTP 200.
    ``env``: extra environment variables for the server (e.g. its own TMPDIR)."""

    def __init__(self, *args: str, timeout: float = 180.0, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = tempfile.TemporaryFile("w+")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, "-m", "alignsts", "ui", "--port", str(self.port), *args],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", **(env or {})))
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"alignsts ui exited: {self.output()}")
            try:
                with urllib.request.urlopen(self.url, timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.perf_counter() - t0 > timeout:
                    self.stop()
                    raise RuntimeError(f"alignsts ui did not answer in {timeout:g} s") from None
                time.sleep(0.05)
        self.started = time.perf_counter()
        self.ready_s = self.started - t0

    def output(self) -> str:
        """What the server printed so far."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        """Terminate (kill after 60 s); the server's exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def browser(width: int = 1400, height: int = 1800):
    """Headless Chromium with a fresh profile (quit_browser removes it)."""
    os.environ["SE_OFFLINE"] = "true"    # selenium-manager must not download anything,
    os.environ["SE_MANAGER_PATH"] = "/nonexistent/selenium-manager"   # nor run at all: it would fail here
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="alignsts-chromium-")
    for flag in FLAGS + [f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(120)
    driver.alignsts_profile = profile
    return driver


def quit_browser(driver) -> None:
    import shutil

    driver.quit()
    shutil.rmtree(driver.alignsts_profile, ignore_errors=True)


def open_page(driver, url: str) -> float:
    """Load the page; seconds until the Convert button can be clicked."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    t0 = time.perf_counter()
    driver.get(url)
    WebDriverWait(driver, 120).until(ec.element_to_be_clickable((By.ID, "convert-button")))
    return time.perf_counter() - t0


def upload(driver, elem_id: str, path, tab: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    if tab:   # a tab's inputs exist once it is shown
        driver.find_element(By.ID, f"{tab}-button").click()
    driver.find_element(By.CSS_SELECTOR, f"#{elem_id} input[type=file]").send_keys(str(Path(path).resolve()))


def wait_uploaded(driver, *elem_ids: str, timeout: float = 60) -> None:
    """Until each input shows its uploaded file (an audio player, or the file's download link)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for elem_id in elem_ids:
        WebDriverWait(driver, timeout).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, f"#{elem_id} audio, #{elem_id} a[download]"))


def convert(driver, timeout: float = 240) -> tuple[str, float]:
    """Click Convert; (URL of the sung audio, seconds from the click until the page links it)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    t0 = time.perf_counter()
    driver.find_element(By.ID, "convert-button").click()
    link = WebDriverWait(driver, timeout, poll_frequency=0.02).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#output-audio a[download]"))[0]
    return link.get_attribute("href"), time.perf_counter() - t0
