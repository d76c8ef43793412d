"""Web UI cost: page ready time after `alignsts ui` starts, and a conversion through the page
against the same conversion through the CLI (bundled example; headless Chromium).

    python benchmarks/ui_overhead.py [--repeats 3]

Rows, medians over the repeats:
- server ready: from launching `python -m alignsts ui` to its first HTTP 200;
- page ready: from then until the page's Convert button can be clicked in Chromium;
- per input (reference / MIDI): the CLI's wall time (`alignsts convert ... -o out.wav`, a fresh
  process: interpreter and imports included), the same conversion in-process (api.convert +
  api.save + the plot, warm), and through the page (click -> sung audio linked, uploads done
  before): the server's first conversion of that kind, and the next one (a running server).
Targets: page ready < 5 s; page minus CLI < 1 s (the page also draws the plot; the CLI does not here).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import ui_browser  # noqa: E402

from alignsts import api  # noqa: E402
from alignsts.plot import plot_conversion  # noqa: E402


def cli_seconds(speech, melody_args: list[str], out: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "alignsts", "convert", str(speech), *melody_args, "-o", str(out), "-q"],
                   check=True)
    return time.perf_counter() - t0


def api_seconds(speech, melody: dict, out: Path) -> float:
    t0 = time.perf_counter()
    result = api.convert(speech, **melody)
    api.save(result, out / "sung.wav")
    plot_conversion(result, out / "sung.png")
    return time.perf_counter() - t0


def page_seconds(driver, url: str, speech, elem_id: str, path, tab: str) -> float:
    ui_browser.open_page(driver, url)
    ui_browser.upload(driver, "speech-input", speech)
    ui_browser.upload(driver, elem_id, path, tab=tab)
    ui_browser.wait_uploaded(driver, "speech-input", elem_id)
    time.sleep(0.5)
    return ui_browser.convert(driver)[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    speech, sing, midi = api.demo_files()
    cases = {"reference (sing.wav)": (["--reference", str(sing)], dict(reference=sing), "reference-input", sing,
                                      "tab-reference"),
             "score (twinkle.mid)": (["--midi", str(midi)], dict(midi=midi), "score-input", midi, "tab-score")}
    ready, page_ready = [], []
    rows = {name: {"cli": [], "api": [], "first": [], "page": []} for name in cases}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        api_seconds(speech, dict(reference=sing), out)   # warm numba caches as a running server has them
        for _ in range(args.repeats):
            driver = ui_browser.browser()
            try:
                with ui_browser.Server() as server:
                    ready.append(server.ready_s)
                    page_ready.append(ui_browser.open_page(driver, server.url))
                    for name, (cli_args, melody, elem_id, path, tab) in cases.items():
                        rows[name]["first"].append(page_seconds(driver, server.url, speech, elem_id, path, tab))
                        rows[name]["page"].append(page_seconds(driver, server.url, speech, elem_id, path, tab))
                        rows[name]["cli"].append(cli_seconds(speech, cli_args, out / "cli.wav"))
                        rows[name]["api"].append(api_seconds(speech, melody, out))
            finally:
                ui_browser.quit_browser(driver)
    med = statistics.median
    print(f"\n| measure | median of {args.repeats} (s) | target |")
    print("|---|---|---|")
    print(f"| server ready (launch -> HTTP 200) | {med(ready):.2f} | |")
    print(f"| page ready (HTTP 200 -> Convert clickable) | {med(page_ready):.2f} | |")
    print(f"| page ready after launch | {med(r + q for r, q in zip(ready, page_ready)):.2f} | < 5 |")
    print("\n| input | CLI (fresh process) | in-process api + plot | page, server's first | page, running server "
          "| page - CLI | page - in-process |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        cli, inproc, first, page = med(r["cli"]), med(r["api"]), med(r["first"]), med(r["page"])
        print(f"| {name} | {cli:.2f} | {inproc:.2f} | {first:.2f} | {page:.2f} | {page - cli:+.2f} "
              f"| {page - inproc:+.2f} |")
    print(f"\nload average while measuring: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
