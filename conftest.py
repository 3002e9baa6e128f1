"""Test-suite set-up shared by the unit tests (tests/) and the notebooks (nbval).

The offline guard (mmlearn.course.offline) goes into this process and, through an IPython startup file, into
every notebook kernel. Each blocked attempt is logged to $MMLEARN_NETLOG; any test or notebook during
which the log grows fails, even if the code caught the exception.
"""
import os
import tempfile
from pathlib import Path

import matplotlib
import pytest

from mmlearn.course import offline

pytest_plugins = ["pytester"]  # tests/test_offline.py runs a small suite of its own

_scratch = Path(tempfile.mkdtemp(prefix="mmlearn-tests-"))
NETLOG = _scratch / "network-attempts.log"

KERNEL_STARTUP = """\
# Installed by mmlearn's conftest.py: notebook kernels under test run offline.
from mmlearn.course import offline as _offline
_offline.block_network()
del _offline
"""


def pytest_configure(config):
    NETLOG.touch()
    os.environ["MMLEARN_NETLOG"] = str(NETLOG)
    # Kernels inherit our environment: a private IPython profile whose startup file blocks the network,
    # a private results folder, and no stray user configuration.
    startup = _scratch / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-offline.py").write_text(KERNEL_STARTUP)
    os.environ["IPYTHONDIR"] = str(_scratch / "ipython")
    os.environ.setdefault("MMLEARN_RESULTS", str(_scratch / "results"))
    # Lecture mode off: every run trains (tests test learning), into a private, empty folder.
    os.environ["MMLEARN_LECTURE_CACHE"] = str(_scratch / "lecture")
    os.environ["MMLEARN_RETRAIN"] = "1"
    matplotlib.use("agg")  # this process only; kernels keep their inline backend
    offline.block_network()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    before = NETLOG.stat().st_size
    result = yield
    if NETLOG.stat().st_size > before:
        with open(NETLOG) as f:
            f.seek(before)
            attempts = f.read().strip()
        pytest.fail(f"{item.nodeid} tried to reach the network:\n{attempts}", pytrace=False)
    return result


def pytest_collection_modifyitems(items):
    # nbval waits at most 5 s (a constant in nbval 0.11) between two output messages of a cell. On a loaded
    # 2-core machine a finished cell's figure can take longer to arrive, and the cell fails though it ran
    # (seen once on notebook 03's training cell). Allow a minute; the cell's own timeout is unchanged.
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = 60
