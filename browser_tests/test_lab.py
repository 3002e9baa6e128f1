"""JupyterLab, opened as a reader who was handed the executed notebooks: a fresh Jupyter home (its trust
database has never seen them, so they are untrusted), no network, headless Chromium. `make lab-test`, after
`make course`.

- Untrusted: every player shows its red "nothing moves?" line with a Trust button, every explorer shows
  its text form (KERNEL_NEEDED), and nothing reads "model not found".
- Pressing a player's Trust button (and confirming, as JupyterLab asks twice) trusts the notebook: every
  player's script runs and removes its line; the 03 scrubber's slider changes the picture; the 00 talking
  face follows the audio's clock.
- After a kernel restart, and after reopening the page, nothing reads "model not found", and the 01
  explorer says that its kernel is gone (KERNEL_GONE) instead of ignoring what one types.
- Live: an explorer called as a cell's last line shows once, answers what one types, hides its kernel-gone
  line while its kernel runs, and shows it after a restart.

JupyterLab draws only the cells in view by default; here it draws them all (windowingMode "none"), so
that the test sees every output without scrolling.
"""
import html
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from mmlearn.core import ROOT
from mmlearn.players import TRUST_HINT
from mmlearn.widgets import KERNEL_GONE, KERNEL_NEEDED

EXECUTED = ROOT / "results" / "executed"
NOTEBOOKS = ["00_multimodal_data", "01_metric_learning", "03_attention_captioning", "06_soundnet",
             "07_sound_localization", "08_cocktail_party"]
LIVE_EXPLORER = """import torch
from mmlearn.widgets import word_explorer
from mmlearn.word2vec import WordVectors
word_explorer(WordVectors(torch.eye(3), ["king", "queen", "man"]), "king", k=2)"""   # called as the last line
SETTINGS = {"notebook-extension/tracker": {"windowingMode": "none"},
            "apputils-extension/notification": {"fetchNews": "false"}}   # no "get Jupyter news?" prompt


def players_in(name: str) -> int:
    """How many players the executed notebook holds (outputs carrying the trust line)."""
    nb = json.loads((EXECUTED / f"{name}.ipynb").read_text())
    return sum(html.escape(TRUST_HINT) in "".join(out.get("data", {}).get("text/html", ""))
               for cell in nb["cells"] for out in cell.get("outputs", []))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on copies of the executed notebooks, with a Jupyter home of its own."""
    missing = [n for n in NOTEBOOKS if not (EXECUTED / f"{n}.ipynb").exists()]
    if missing:
        pytest.fail(f"no executed {', '.join(missing)} in {EXECUTED}: run `make course` first")
    shared, home = tmp_path_factory.mktemp("handed-over"), tmp_path_factory.mktemp("jupyter-home")
    for name in NOTEBOOKS:
        shutil.copy(EXECUTED / f"{name}.ipynb", shared)
    live = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "mmlearn", "display_name": "Python (mmlearn)",
                                                              "language": "python"}})
    live.cells = [nbformat.v4.new_code_cell(LIVE_EXPLORER)]
    nbformat.write(live, shared / "live_explorer.ipynb")
    for key, value in SETTINGS.items():
        path = home / "config" / "lab" / "user-settings" / "@jupyterlab" / f"{key}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(
        [Path(sys.executable).parent / "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={shared}",
         "--LabApp.expose_app_in_browser=True",          # window.jupyterapp, to restart the kernel
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--KernelManager.transport=ipc", f"--KernelManager.ip={home / 'runtime' / 'kernel'}"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not start: {(home / 'lab.log').read_text()[-2000:]}")
        yield url, token
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser(launch_chromium):
    return launch_chromium(allow_local=True)


class Reader:
    """One notebook open in JupyterLab, and what the page asked of the network."""

    def __init__(self, browser, lab, name: str, executed: bool = True):
        url, token = lab
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.outside = []
        self.page.on("request", lambda r: r.url.startswith((url, "data:", "blob:")) or self.outside.append(r.url))
        self.page.goto(f"{url}/lab/tree/{name}.ipynb?token={token}&reset")
        self.wait_until_open(executed)

    def wait_until_open(self, executed: bool = True):
        self.page.wait_for_selector(".jp-OutputArea-output" if executed else ".jp-Notebook", timeout=90_000)
        self.page.wait_for_function("() => document.querySelector('.jp-Notebook-ExecutionIndicator') !== null")
        self.page.wait_for_timeout(3000)  # outputs render a moment after the notebook appears

    def text(self) -> str:
        return self.page.inner_text(".jp-NotebookPanel")

    def hints(self) -> int:
        return self.text().count(TRUST_HINT[:60])

    def press_dialog(self, label: str):
        self.page.locator(".jp-Dialog button", has_text=label).click()

    def restart_kernel(self):
        self.page.evaluate("() => { jupyterapp.commands.execute('kernelmenu:restart'); }")
        self.press_dialog("Restart")
        self.page.wait_for_timeout(5000)

    def reopen(self):
        self.page.reload()
        self.wait_until_open()


def trust_by_the_hint(reader: Reader):
    """What the red line asks: press its button, then JupyterLab's three dialogs. "Run Command?" (the button is
    a command link in untrusted output) → Trust, which runs notebook:trust: "Trust this notebook?" → Trust; then
    the link's own command runs once more and says "Notebook is already trusted" → Ok."""
    reader.page.locator(".jp-OutputArea-output button", has_text="Trust this notebook").first.click()
    reader.press_dialog("Trust")
    reader.press_dialog("Trust")
    reader.page.wait_for_function("s => !document.querySelector('.jp-NotebookPanel').innerText.includes(s)",
                                  arg=TRUST_HINT[:60], timeout=30_000)
    reader.page.locator(".jp-Dialog", has_text="already trusted").locator("button", has_text="Ok").click()


@pytest.mark.parametrize("name", [n for n in NOTEBOOKS if n != "01_metric_learning"])
def test_an_untrusted_player_says_what_to_do_and_works_once_trusted(browser, lab, name):
    expected = players_in(name)
    assert expected, f"{name}: its executed copy has no player with today's trust line: run `make course` again"
    reader = Reader(browser, lab, name)
    assert reader.hints() == expected, "each player shows its trust line while the notebook is untrusted"
    trust_by_the_hint(reader)
    assert reader.hints() == 0                                       # every player's script ran
    page = reader.page
    if name.startswith("03"):                                        # the scrubber: drag the slider
        player = page.locator(".jp-OutputArea-output:has(input[type=range])").first
        slider, picture = player.locator("input[type=range]"), player.locator("img").first
        before = picture.get_attribute("src")
        box = slider.bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
        assert int(slider.input_value()) > 0 and picture.get_attribute("src") != before
    if name.startswith("00"):                                        # the talking face: seek the audio
        player = page.locator(".jp-OutputArea-output", has_text="the mouth follows the sound").first
        face = player.locator("img").first
        before = face.get_attribute("src")
        player.locator("audio").evaluate("a => { a.currentTime = a.duration / 2; }")
        page.wait_for_function("([img, src]) => img.src !== src", arg=[face.element_handle(), before])
    reader.restart_kernel()
    assert "model not found" not in reader.text()
    assert not reader.outside, reader.outside
    page.close()


def test_an_explorer_says_it_needs_a_kernel_and_that_a_restart_took_it_away(browser, lab):
    reader = Reader(browser, lab, "01_metric_learning")
    assert KERNEL_NEEDED in reader.text()                 # untrusted: its text form
    reader.page.evaluate("() => { jupyterapp.commands.execute('notebook:trust'); }")
    reader.press_dialog("Trust")
    reader.page.wait_for_selector(".jupyter-widgets", timeout=30_000)
    gone = reader.page.get_by_text(KERNEL_GONE[:60])
    for step in (lambda: None, reader.restart_kernel, reader.reopen):
        step()
        text = reader.text()
        assert "model not found" not in text and "Error displaying widget" not in text
        assert gone.count() == 1 and gone.is_visible()  # the saved explorer: no kernel behind it, and it says so
    assert not reader.outside, reader.outside
    reader.page.close()


def test_a_live_explorer_shows_once_answers_and_says_when_its_kernel_is_gone(browser, lab):
    reader = Reader(browser, lab, "live_explorer", executed=False)
    reader.page.evaluate("() => { jupyterapp.commands.execute('notebook:run-all-cells'); }")
    reader.page.wait_for_selector(".jupyter-widgets", timeout=90_000)
    outputs, gone = reader.page.locator(".jp-OutputArea-output"), reader.page.get_by_text(KERNEL_GONE[:60])
    assert outputs.count() == 1                                   # the call displayed it; the displayhook did not
    assert gone.count() == 1 and not gone.is_visible()            # its kernel is there: the line stays hidden
    outputs.first.locator("input").fill("queen")
    reader.page.keyboard.press("Enter")
    reader.page.wait_for_function("() => document.querySelector('.jp-OutputArea-output').innerText.includes('king')")
    reader.restart_kernel()
    assert gone.is_visible()
    assert not reader.outside, reader.outside
    reader.page.close()
