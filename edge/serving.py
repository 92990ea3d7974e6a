"""Serving the till API: HTTPS on the shop's LAN, plain HTTP only on loopback or when asked.

Till keys are bearer secrets: on a shared shop LAN anyone could read them off plain HTTP.
So ``serve`` speaks HTTPS, with the box's own certificate (``edge.tls``), whenever it
listens on an address other customers' devices can reach. Plain HTTP stays for loopback
(a till app on the box itself, the demo, tests) and for ``--insecure-http``.

waitress, which serves plain HTTP, has no TLS. HTTPS is served by cheroot (CherryPy's
server, maintained by the Jaraco/CherryPy team): a pure-Python threaded WSGI server that
embeds in our process with the standard ``ssl`` module, so the sync loop, the serial
ports and the zeroconf registration stay in the one process that owns the database
(docs/design.md §3). gunicorn would fork its own workers and take over the signals.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import tls

__all__ = ["Listener", "is_loopback", "plan", "bind", "Server"]

log = logging.getLogger("fidelis.edge.serve")


@dataclass(frozen=True)
class Listener:
    """Where and how the till API listens."""

    host: str
    port: int
    https: bool

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.https else 'http'}://{host}:{self.port}/api/v1"


def is_loopback(host: str) -> bool:
    """True when ``host`` is only reachable from the box itself (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (socket.gaierror, ValueError):
            return False


def plan(host: str, port: int, tls_mode: str) -> Listener:
    """HTTPS unless ``tls_mode`` is ``off``, or ``auto`` on a loopback address."""
    https = tls_mode == "on" or (tls_mode == "auto" and not is_loopback(host))
    return Listener(host, port, https)


@dataclass
class Server:
    """A bound server: ``run`` serves until ``close``; ``port`` is the port it really listens on."""

    port: int
    run: Any
    close: Any


class ListenError(Exception):
    """The address cannot be listened on: the port is taken (another edge?) or not this host's."""


def bind(app: Any, listener: Listener, threads: int, data_dir: Path) -> Server:
    """Bind ``app`` to the listener's address: waitress for HTTP, cheroot with the box's
    certificate for HTTPS (waitress has no TLS). ``ListenError`` when the address is unusable."""
    def refused(exc: OSError) -> ListenError:
        # cheroot reports a failed bind as a bare socket.error whose text holds the errno's.
        found = re.search(r"\[Errno \d+\] ([^)]+)", str(exc))
        reason = exc.strerror or (found.group(1) if found else str(exc))
        return ListenError(f"cannot listen on {listener.host}:{listener.port}: {reason}")

    if not listener.https:
        import waitress

        try:
            plain = waitress.create_server(app, host=listener.host, port=listener.port, threads=threads,
                                           ident="fidelis-edge")
        except OSError as exc:
            raise refused(exc) from None
        return Server(plain.effective_port, plain.run, plain.close)
    from cheroot import wsgi
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    key_path, cert_path = tls.paths(data_dir)
    secure = wsgi.Server((listener.host, listener.port), app, numthreads=threads, server_name="fidelis-edge")
    try:
        secure.ssl_adapter = BuiltinSSLAdapter(str(cert_path), str(key_path))
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: name the pair, not the port
        raise tls.TlsError(f"cannot load the TLS pair {cert_path}, {key_path}: {exc}") from None
    try:
        secure.prepare()
    except OSError as exc:
        raise refused(exc) from None
    return Server(secure.bind_addr[1], secure.serve, secure.stop)
