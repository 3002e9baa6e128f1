"""What both browser tests share: Debian's Chromium, driven by Playwright, with the network unreachable."""
import shutil

import pytest


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.fail("no Chromium on PATH: on Debian/Ubuntu, `sudo apt install chromium`")


@pytest.fixture(scope="session")
def launch_chromium():
    """launch(allow_local=False) -> a headless Chromium in which every host name resolves to nothing, so any
    request that would leave the machine fails (and the tests catch it); `allow_local` keeps 127.0.0.1, for a
    local Jupyter server."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="`make site-test` installs playwright")
    with sync_api.sync_playwright() as playwright:
        browsers = []

        def launch(allow_local: bool = False):
            rules = "MAP * ~NOTFOUND" + (", EXCLUDE 127.0.0.1" if allow_local else "")
            browsers.append(playwright.chromium.launch(executable_path=chromium(),
                                                       args=[f"--host-resolver-rules={rules}"]))
            return browsers[-1]

        yield launch
        for browser in browsers:
            browser.close()
