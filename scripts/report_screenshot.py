"""Open the HTML report in headless Chromium and save a screenshot of the top of the page.

    python scripts/report_screenshot.py results/report.html --out results/report_top.png

The check a reader's browser would make: the page loads, its table of contents and first
figures render (the PNG is tested for drawn content). Chromium is not a dependency of the
package: Debian's ``chromium`` package (``apt-get install chromium``) or any Chrome/Chromium on
the PATH (or named by ``--browser``) is used. Exit code 2 with a message when none is found.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# headless, as root in a container, on a machine with a closed network (no background calls)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_browser(name: str | None = None) -> str | None:
    if name:
        return shutil.which(name) or (name if Path(name).exists() else None)
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def screenshot(html: Path, out: Path, browser: str, size=(1280, 1000), timeout=120) -> Path:
    """Render ``html`` in ``browser`` and write the top ``size`` pixels to ``out`` (PNG)."""
    html = html.resolve()
    if not html.is_file():
        raise FileNotFoundError(f"{html}: no such report (run `cevns-bayes report` first)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part.png")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            browser,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            f"--screenshot={tmp}",
            html.as_uri(),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0 or not tmp.exists():
        raise RuntimeError(f"{browser} failed (exit {r.returncode}): {r.stderr[-800:]}")
    tmp.replace(out)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html", type=Path, help="the report (results/report.html)")
    ap.add_argument("--out", type=Path, required=True, help="PNG to write")
    ap.add_argument("--browser", default=None, help="Chrome/Chromium executable")
    args = ap.parse_args(argv)
    browser = find_browser(args.browser)
    if browser is None:
        print(
            "report_screenshot: no Chromium found (apt-get install chromium, or --browser PATH)",
            file=sys.stderr,
        )
        return 2
    path = screenshot(args.html, args.out, browser)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
