"""Zeroconf: the serving edge announces itself on the shop's LAN; tills and technicians find it.

The service type is ``_fidelis._tcp.local.``; one instance per box, named after its store
and device (``Fidelis S001 1a2b3c4d``). Its TXT record carries what a till needs before it
sends a byte to the box:

==============  =====================================================
``store``       the store code, or empty on a box not yet initialised
``device``      the device id
``api``         the till API's major version (``1``: ``/api/v1``)
``fingerprint`` SHA-256 of the TLS certificate (``edge.tls``): pin it
``provisioned`` ``yes`` once enrolled with central, else ``no``
``scheme``      ``https``, or ``http`` on a box serving ``--insecure-http``
==============  =====================================================

python-zeroconf shares UDP port 5353 with an avahi-daemon on the same box (both set
``SO_REUSEPORT``), so the box may keep avahi for its own host name; docs/network.md.
Nothing here runs unless ``serve`` advertises or ``discover`` is called: tests do both only
inside a private network namespace.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from typing import Any

import ifaddr
from zeroconf import InterfaceChoice, IPVersion, ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf

from .serving import Listener

__all__ = ["API_VERSION", "SERVICE_TYPE", "Advertiser", "discover", "txt_record"]

log = logging.getLogger("fidelis.edge.zeroconf")

SERVICE_TYPE = "_fidelis._tcp.local."
API_VERSION = "1"
_WILDCARDS = ("0.0.0.0", "::", "")


def txt_record(store: str | None, device_id: str, fingerprint: str | None, provisioned: bool,
               https: bool) -> dict[str, str]:
    """The TXT properties of a box (all strings, each well under the 255-byte limit)."""
    return {"store": store or "", "device": device_id, "api": API_VERSION, "fingerprint": fingerprint or "",
            "provisioned": "yes" if provisioned else "no", "scheme": "https" if https else "http"}


def _addresses(host: str) -> list[str]:
    """The IPv4 addresses to announce for a server listening on ``host``."""
    if host not in _WILDCARDS:
        try:
            return [str(ipaddress.IPv4Address(host))]
        except ValueError:
            return sorted({info[4][0] for info in socket.getaddrinfo(host, None, socket.AF_INET)})
    found = sorted({ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips
                    if ip.is_IPv4 and not ipaddress.ip_address(ip.ip).is_loopback})
    return found or ["127.0.0.1"]


def _interfaces(host: str):
    return InterfaceChoice.All if host in _WILDCARDS else _addresses(host)


class Advertiser:
    """The box's registration: made in the background by :meth:`start`, said goodbye to by :meth:`stop`."""

    def __init__(self, listener: Listener, store: str | None, device_id: str, fingerprint: str | None,
                 provisioned: bool) -> None:
        self.listener = listener
        short = device_id.split("-")[0][:8]
        self.name = f"Fidelis {store or 'new'} {short}"
        addresses = _addresses(listener.host)
        self.info = ServiceInfo(
            SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}", port=listener.port,
            properties=txt_record(store, device_id, fingerprint, provisioned, listener.https),
            server=f"fidelis-{short}.local.", addresses=[socket.inet_aton(a) for a in addresses],
        )
        self._zeroconf: Zeroconf | None = None
        self._thread: threading.Thread | None = None
        self.registered = threading.Event()

    def start(self) -> "Advertiser":
        """Register without holding up the till API (probing takes a second or two)."""
        self._thread = threading.Thread(target=self._register, name="fidelis-zeroconf", daemon=True)
        self._thread.start()
        return self

    def _register(self) -> None:
        try:
            self._zeroconf = Zeroconf(interfaces=_interfaces(self.listener.host), ip_version=IPVersion.V4Only)
            # Two boxes of one store could pick the same name: zeroconf then appends " (2)".
            self._zeroconf.register_service(self.info, allow_name_change=True)
            self.registered.set()
            log.info("announced %r on the LAN (%s)", self.info.name, ", ".join(self.info.parsed_addresses()))
        except Exception as exc:  # discovery is a convenience: selling goes on without it
            log.error("cannot announce the box with zeroconf: %s", exc)

    def stop(self) -> None:
        """Send the goodbye packets so tills forget the box at once, then close the sockets."""
        if self._thread is not None:
            self._thread.join(5)
        if self._zeroconf is not None:
            try:
                if self.registered.is_set():
                    self._zeroconf.unregister_service(self.info)
            finally:
                self._zeroconf.close()
                self._zeroconf = None


class _Names(ServiceListener):
    def __init__(self) -> None:
        self.names: dict[str, None] = {}  # ordered, as they were heard

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names[name] = None

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names[name] = None

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.names.pop(name, None)


def _text(properties: dict[bytes, bytes | None], key: str) -> str:
    value = properties.get(key.encode())
    return value.decode("utf-8", "replace") if value else ""


def _entry(info: ServiceInfo) -> dict[str, Any]:
    properties = info.properties or {}
    addresses = info.parsed_addresses(IPVersion.V4Only)
    host = addresses[0] if addresses else (info.server or "").rstrip(".")
    scheme = _text(properties, "scheme") or "https"
    return {
        "name": info.name[: -len(SERVICE_TYPE) - 1] if info.name.endswith("." + SERVICE_TYPE) else info.name,
        "host": host,
        "port": info.port,
        "store": _text(properties, "store") or None,
        "device": _text(properties, "device") or None,
        "provisioned": _text(properties, "provisioned") == "yes",
        "fingerprint": _text(properties, "fingerprint") or None,
        "url": f"{scheme}://{host}:{info.port}/api/v{_text(properties, 'api') or API_VERSION}",
    }


def discover(timeout: float = 3.0, interfaces: list[str] | None = None) -> list[dict[str, Any]]:
    """Listen for ``timeout`` seconds; every Fidelis edge that answered, sorted by store and name."""
    zeroconf = Zeroconf(interfaces=interfaces or InterfaceChoice.All, ip_version=IPVersion.V4Only)
    try:
        heard = _Names()
        browser = ServiceBrowser(zeroconf, SERVICE_TYPE, heard)
        time.sleep(timeout)  # answers arrive over the whole window (responders delay them at random)
        browser.cancel()
        found = []
        for name in list(heard.names):
            info = ServiceInfo(SERVICE_TYPE, name)
            if info.request(zeroconf, 1500):
                found.append(_entry(info))
            else:
                log.warning("%s answered the browse but not the lookup", name)
        return sorted(found, key=lambda e: (e["store"] or "", e["name"]))
    finally:
        zeroconf.close()
