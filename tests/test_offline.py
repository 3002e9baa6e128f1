import socket
import threading
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from mmlearn.course import offline

CONFTEST = Path(__file__).resolve().parent.parent / "conftest.py"

# Every test below first asserts that the guard is in force, so a broken guard fails here
# without a single packet leaving the machine. 192.0.2.1 is a documentation-only address.


@pytest.fixture
def private_netlog(tmp_path, monkeypatch):
    """Log this test's (intended) blocked attempts elsewhere, so conftest's net check does not fail it."""
    log = tmp_path / "net.log"
    monkeypatch.setenv("MMLEARN_NETLOG", str(log))
    return log


@pytest.mark.parametrize("host, local", [
    ("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("localhost", True), ("0.0.0.0", True),
    ("192.0.2.1", False), ("10.0.0.1", False), ("example.org", False), ("2001:db8::1", False),
])
def test_is_local(host, local):
    assert offline.is_local(host) is local


def test_remote_connections_and_lookups_are_refused_and_logged(private_netlog):
    assert offline.is_blocked()
    with pytest.raises(offline.NetworkBlockedError, match="192.0.2.1"):
        socket.create_connection(("192.0.2.1", 9), timeout=1)
    with pytest.raises(offline.NetworkBlockedError, match="resolve"):
        urllib.request.urlopen("http://example.org/", timeout=1)
    assert private_netlog.read_text().count("blocked") == 2


def test_datagrams_and_old_style_lookups_are_refused_too(private_netlog):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(offline.NetworkBlockedError, match="send to"):
            udp.sendto(b"x", ("192.0.2.1", 53))
        with pytest.raises(offline.NetworkBlockedError, match="send to"):
            udp.sendto(b"x", 0, ("192.0.2.1", 53))
        with pytest.raises(offline.NetworkBlockedError, match="send to"):
            udp.sendmsg([b"x"], [], 0, ("192.0.2.1", 53))
        receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        receiver.bind(("127.0.0.1", 0))
        udp.sendto(b"ok", receiver.getsockname())                     # loopback is fine
        assert receiver.recv(2) == b"ok"
        receiver.close()
    for lookup in (socket.gethostbyname, socket.gethostbyname_ex):
        with pytest.raises(offline.NetworkBlockedError, match="resolve"):
            lookup("example.org")
    assert socket.gethostbyname("localhost") in ("127.0.0.1", "::1")
    assert private_netlog.read_text().count("blocked") == 5


def test_loopback_still_works():
    assert offline.is_blocked()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    threading.Thread(target=lambda: server.accept()[0].sendall(b"hi"), daemon=True).start()
    with socket.create_connection(server.getsockname(), timeout=5) as client:
        assert client.recv(2) == b"hi"
    server.close()


def test_notebook_kernels_run_offline(tmp_path, private_netlog):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from mmlearn.course import offline\nassert offline.is_blocked(), 'the kernel started without the guard'\n"
        "import socket\nsocket.create_connection(('192.0.2.1', 9), timeout=1)")]
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError, match="NetworkBlockedError"):
        client.execute()
    assert "192.0.2.1" in private_netlog.read_text()


def test_a_test_that_swallows_the_error_still_fails(pytester):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_sneaky="""
        import socket
        def test_sneaky():
            try:
                socket.create_connection(("192.0.2.1", 9), timeout=1)
            except Exception:
                pass  # swallowed: the suite must fail this test anyway
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_sneaky tried to reach the network*"])
