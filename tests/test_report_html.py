"""The HTML report: a table of contents linking every section, and a headless-browser
screenshot of the top of the page (when a Chromium is installed: `make report-screenshot`)."""

import re
import sys
from pathlib import Path

import pytest

from cevns_bayes.report import markdown_to_html

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import report_screenshot  # noqa: E402

MD = """# cevns-bayes report

Intro with `code` and **bold**.

## Cross section

| a | b |
| --- | --- |
| 1 | 2 |

### Fit checks: pulls, impacts, correlations

## Model comparison

## Cross section
"""


def test_toc_links_every_section_once():
    page = markdown_to_html(MD, title="t")
    ids = re.findall(r"<h[23] id='([^']+)'>", page)
    links = re.findall(r"<a href='#([^']+)'>", page)
    assert (
        ids
        == links
        == [
            "cross-section",
            "fit-checks-pulls-impacts-correlations",
            "model-comparison",
            "cross-section-2",
        ]
    )
    # the contents sit right after the title, before the first section
    assert page.index("<nav class='toc'>") < page.index("<h2")
    assert page.index("</h1>") < page.index("<nav class='toc'>")


@pytest.mark.skipif(report_screenshot.find_browser() is None, reason="no Chromium installed")
def test_headless_browser_renders_the_top_of_the_report(tmp_path):
    from _figures import assert_drawn_png

    html = tmp_path / "report.html"
    html.write_text(markdown_to_html(MD, title="t"))
    png = report_screenshot.screenshot(html, tmp_path / "top.png", report_screenshot.find_browser())
    assert_drawn_png(png)
