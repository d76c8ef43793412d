"""Make docs/ui.png: the `alignsts ui` page after converting the bundled example (headless Chromium).

    python scripts/ui_screenshot.py [--out docs/ui.png]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ui_browser  # noqa: E402

from selenium.webdriver.common.by import By  # noqa: E402

from alignsts import api  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "ui.png"))
    args = p.parse_args()
    speech, sing, _midi = api.demo_files()
    with ui_browser.Server() as server:
        driver = ui_browser.browser(width=1400, height=1200)
        try:
            ui_browser.open_page(driver, server.url)
            driver.find_element(By.XPATH, "//*[@id='options']//*[normalize-space(text())='Options']").click()
            ui_browser.upload(driver, "speech-input", speech)
            ui_browser.upload(driver, "reference-input", sing, tab="tab-reference")
            ui_browser.wait_uploaded(driver, "speech-input", "reference-input")
            ui_browser.convert(driver)
            time.sleep(1.5)   # let the waveforms and the plot render
            height = driver.execute_script("return document.body.scrollHeight")
            driver.set_window_size(1400, min(int(height) + 40, 2400))
            driver.execute_script("window.scrollTo(0, 0)")
            time.sleep(0.5)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(args.out)
        finally:
            ui_browser.quit_browser(driver)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
