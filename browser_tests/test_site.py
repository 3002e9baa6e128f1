"""The offline course site, opened as a reader would open it: from disk, in headless Chromium, with the
network unreachable. Not part of `make test` (it needs Debian's chromium and a built site): `make site-test`.

Every page: no request leaves the disk and none fails, no script error, every formula rendered by MathJax
(none left as raw TeX), every player's "nothing moves?" line removed by its script. Notebook 03: pressing
the arrow key on the attention scrubber's slider changes the picture. Screenshots go to
results/site-screenshots/ for a person to look at.
"""
import re
from pathlib import Path

import pytest

from mmlearn.core import ROOT
from mmlearn.players import TRUST_HINT

SITE = ROOT / "site"
SHOTS = ROOT / "results" / "site-screenshots"
PAGES = sorted(p.name for p in SITE.glob("*.html")) if SITE.exists() else []
RAW_TEX = re.compile(r"\\(frac|lambda|sum|mathbf|log|alpha|cdot|tfrac|operatorname|left|right)\b")


@pytest.fixture(scope="module")
def browser(launch_chromium):
    if not (SITE / "index.html").exists():
        pytest.fail(f"{SITE}/index.html is missing: run `make site` first")
    return launch_chromium()  # offline: a request for anything but a file fails, and is caught below


def open_page(browser, name: str):
    """The page, after MathJax has typeset it; and what went wrong while loading it."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url[:100]} ({r.failure})"))
    page.on("request", lambda r: r.url.startswith(("file:", "data:", "blob:")) or problems.append(f"network: {r.url}"))
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text[:200]}"))
    page.goto((SITE / name).as_uri(), wait_until="load")
    page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")
    page.wait_for_load_state("networkidle")  # what typesetting asked for (fonts) has arrived, or failed
    return page, problems


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_with_formulas_rendered(browser, name):
    page, problems = open_page(browser, name)
    assert not problems, problems
    text = page.inner_text("body")
    assert not RAW_TEX.search(text), f"raw TeX left: {RAW_TEX.search(text).group(0)!r}"
    assert page.locator(".noError, .MathJax_Error, merror").count() == 0
    assert TRUST_HINT not in text, "a player's script did not run"
    if name[:2].isdigit() or name == "index.html":
        assert page.locator(".mmlearn-nav a", has_text="contents").count() >= 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{Path(name).stem}.png"))
    page.close()


def test_pages_have_formulas_and_the_contents_lists_every_notebook(browser):
    page, _ = open_page(browser, "index.html")
    links = page.locator(".mmlearn-toc a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert links == [n for n in PAGES if n[:2].isdigit()]
    page.close()
    page, _ = open_page(browser, "01_metric_learning.html")
    assert page.locator(".MathJax").count() >= 10
    page.close()


def test_the_attention_scrubber_moves_the_picture(browser):
    page, problems = open_page(browser, "03_attention_captioning.html")
    slider = page.locator("input[type=range]").first
    slider.scroll_into_view_if_needed()
    picture = page.locator("img[id^=i-]").first
    before = picture.get_attribute("src")
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert slider.input_value() == "1"
    after = picture.get_attribute("src")
    assert after != before and after.startswith("data:image/png")
    page.keyboard.press("ArrowRight")
    assert picture.get_attribute("src") not in (before, after)
    slider.screenshot(path=str(SHOTS / "03_scrubber_slider.png"))
    picture.locator("xpath=../..").screenshot(path=str(SHOTS / "03_scrubber.png"))
    assert not problems, problems
    page.close()
