"""The offline guard: the course never touches the network, and the tests prove it.

`block_network()` patches Python's socket layer so that connecting anywhere but loopback (or a Unix
socket) raises `NetworkBlockedError` *before* any packet leaves, and so does resolving a host name
other than localhost. The test suite installs it in the pytest process and, through an IPython
startup file, in every notebook kernel; each blocked attempt is also appended to $MMLEARN_NETLOG so
the test that made it fails even if the code swallowed the exception.
"""
from __future__ import annotations

import ipaddress
import os
import socket

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", ""}


class NetworkBlockedError(RuntimeError):
    """Raised when code tries to reach the network while the offline guard is on."""


def is_local(host) -> bool:
    """Whether `host` (a name or an address) stays on this machine."""
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    host = host.split("%", 1)[0].strip("[]")
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name that is not localhost: resolving it would ask a DNS server
    return address.is_loopback or address.is_unspecified


def _refuse(what: str, target) -> None:
    message = f"network access blocked (the course runs offline): {what} {target!r}"
    log = os.environ.get("MMLEARN_NETLOG")
    if log:
        with open(log, "a") as f:
            f.write(message + "\n")
    raise NetworkBlockedError(message)


def _guarded_connect(original):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_local(address[0]):
            _refuse("connect to", address)
        return original(self, address)

    connect.__mmlearn_guard__ = True
    return connect


def _guarded_getaddrinfo(original):
    def getaddrinfo(host, *args, **kwargs):
        if not is_local(host):
            try:
                ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
            except ValueError:
                _refuse("resolve", host)  # a real name: would need DNS
        return original(host, *args, **kwargs)

    getaddrinfo.__mmlearn_guard__ = True
    return getaddrinfo


def _guarded_sendto(original):
    """sendto(data, address) / sendto(data, flags, address): UDP needs no connect()."""
    def sendto(self, data, *args):
        address = args[-1] if args else None
        if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and not is_local(address[0]):
            _refuse("send to", address)
        return original(self, data, *args)

    sendto.__mmlearn_guard__ = True
    return sendto


def _guarded_sendmsg(original):
    """sendmsg(buffers, ancdata, flags, address): the address, when given, is the fourth argument."""
    def sendmsg(self, buffers, *args):
        address = args[2] if len(args) > 2 else None
        if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and not is_local(address[0]):
            _refuse("send to", address)
        return original(self, buffers, *args)

    sendmsg.__mmlearn_guard__ = True
    return sendmsg


def block_network() -> None:
    """Refuse every non-loopback connection or datagram and every DNS lookup (getaddrinfo, gethostbyname,
    gethostbyname_ex) from this Python process. Idempotent."""
    if is_blocked():
        return
    socket.socket.connect = _guarded_connect(socket.socket.connect)
    socket.socket.connect_ex = _guarded_connect(socket.socket.connect_ex)
    socket.socket.sendto = _guarded_sendto(socket.socket.sendto)
    if hasattr(socket.socket, "sendmsg"):
        socket.socket.sendmsg = _guarded_sendmsg(socket.socket.sendmsg)
    socket.getaddrinfo = _guarded_getaddrinfo(socket.getaddrinfo)
    socket.gethostbyname = _guarded_getaddrinfo(socket.gethostbyname)
    socket.gethostbyname_ex = _guarded_getaddrinfo(socket.gethostbyname_ex)


def is_blocked() -> bool:
    """Whether `block_network()` is in force in this process."""
    return getattr(socket.socket.connect, "__mmlearn_guard__", False)
