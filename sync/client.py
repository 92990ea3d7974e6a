"""The edge's HTTP client for central's sync API (docs/sync-protocol.md).

Every request but enrolment is signed with the device key. Transport failures, timeouts
and 5xx answers are ``Offline`` (retry later); a 4xx answer is ``Refused`` with central's
error code (``device_revoked``, ``fork_detected``, ``seq_gap``, …).

Over HTTPS central's certificate is always verified: against the system's CAs, or against
``ca_file`` for a brand that runs its own CA. One :func:`new_session` per edge carries the
sync loop, authorizations and the CLI's calls over a few kept-alive connections.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .protocol import sign_request, utcnow

DEFAULT_TIMEOUT = 10.0
POOL_SIZE = 4
"""Connections kept open to central: the sync loop, authorizations from till threads, the CLI."""


def new_session(pool_size: int = POOL_SIZE) -> requests.Session:
    """A session whose connections to central are kept alive and shared between threads."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class SyncError(Exception):
    """Base of the client's errors."""


class Offline(SyncError):
    """Central could not be reached, timed out or had a transient fault: try again later."""


class Refused(SyncError):
    """Central answered with a 4xx: ``code`` says why."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(f"{message} ({code})")
        self.status = status
        self.code = code
        self.details = details or {}


class SyncClient:
    """One device talking to one central."""

    def __init__(
        self,
        base_url: str,
        device_id: str,
        key: Ed25519PrivateKey,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        ca_file: str | None = None,
        now: Callable = utcnow,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # Passed with every request: a session-wide ``verify`` loses to REQUESTS_CA_BUNDLE.
        self.verify: str | bool = ca_file or True
        self.device_id = device_id
        self._key = key
        self.timeout = timeout
        self._session = session or new_session()
        self._now = now

    def _call(self, method: str, path: str, payload: Any = None, *, signed: bool = True,
              timeout: float | None = None, body: bytes | None = None) -> Any:
        if body is None:
            body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json"} if body else {}
        full_path = f"/sync/v1{path}"
        if signed:
            headers.update(sign_request(self._key, self.device_id, method, full_path, body, self._now()))
        try:
            response = self._session.request(
                method, self.base_url + full_path, data=body or None, headers=headers,
                timeout=timeout or self.timeout, verify=self.verify,
            )
        except requests.exceptions.SSLError as exc:
            found = re.search(r"certificate verify failed: ([^(')]+)", str(exc))
            reason = found.group(1).strip() if found else "TLS handshake failed"
            raise Offline(f"central at {self.base_url} presented a certificate this box does not trust "
                          f"({reason}); for a private CA set central_ca_file (--ca-file)") from None
        except requests.RequestException as exc:
            raise Offline(f"central at {self.base_url} unreachable: {exc.__class__.__name__}") from None
        if response.status_code >= 500:
            raise Offline(f"central answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise Offline(f"central answered {response.status_code} without JSON") from None
        if response.status_code >= 400:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise Refused(response.status_code, error.get("code", "refused"), error.get("message", "refused"),
                          error.get("details"))
        return data

    def enroll(self, token: str, public_key: str, store: str | None) -> dict[str, Any]:
        """Bind this device's key to a store with a one-time token."""
        return self._call("POST", "/enroll", {"token": token, "device_id": self.device_id,
                                              "public_key": public_key, "store": store}, signed=False)

    def request_pairing(self, public_key: str, store: str | None) -> dict[str, Any]:
        """Ask for a pairing code for this device (head office approves it instead of a token)."""
        return self._call("POST", "/pairings", {"device_id": self.device_id, "public_key": public_key,
                                                "store": store}, signed=False)

    def poll_pairing(self, code: str, secret: str) -> dict[str, Any]:
        """``{"status": "pending"}`` until approved, then the enrolment reply (once)."""
        return self._call("POST", "/pairings/poll", {"code": code, "secret": secret}, signed=False)

    def head(self, local_seq: int | None = None) -> dict[str, Any]:
        """Central's head of this device's log; ``local_seq`` tells central how long the local log is."""
        return self._call("GET", "/head" + (f"?local_seq={local_seq}" if local_seq is not None else ""))

    def push(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        return self._call("POST", "/push", {"entries": entries})

    def push_lines(self, lines: list[str]) -> dict[str, Any]:
        """Push entries as stored, each line already the entry's JSON: no parsing and encoding
        again of a backlog that can run to tens of thousands."""
        return self._call("POST", "/push", body=('{"entries":[' + ",".join(lines) + "]}").encode("utf-8"))

    def pull(self, since: int, limit: int = 500) -> dict[str, Any]:
        return self._call("GET", "/pull?" + urlencode({"since": since, "limit": limit}))

    def lookup_customer(self, timeout: float, *, card: str | None = None, customer_id: str | None = None
                        ) -> dict[str, Any]:
        """The customer holding ``card`` or with ``customer_id`` (``{"state", "found_by"}``); this
        device's store knows it from then on.

        ``Refused`` ``customer_not_found`` for a card or id nobody has, ``card_blocked`` for a lost
        card; ``Offline`` past ``timeout`` seconds.
        """
        query = {"card": card} if card is not None else {"id": customer_id}
        return self._call("GET", "/customers?" + urlencode(query), timeout=timeout)

    def authorize(self, customer_id: str, points: int, sale_id: str, timeout: float) -> dict[str, Any]:
        """Ask central to hold ``points`` for a sale; raises ``Offline`` past ``timeout`` seconds."""
        return self._call("POST", "/authorize", {"customer_id": customer_id, "points": points, "sale_id": sale_id},
                          timeout=timeout)

    def release(self, sale_id: str, timeout: float) -> dict[str, Any]:
        """Give back the hold of a sale that was not recorded (idempotent); ``sale_id`` is a UUID."""
        return self._call("DELETE", f"/holds/{sale_id}", timeout=timeout)

    def authorize_wallet(self, customer_id: str, amount: int, sale_id: str, timeout: float) -> dict[str, Any]:
        """Ask central to hold ``amount`` of a customer's wallet for a sale (docs/sync-protocol.md)."""
        return self._call("POST", "/wallet/authorize", {"customer_id": customer_id, "amount": amount,
                                                        "sale_id": sale_id}, timeout=timeout)

    def release_wallet(self, sale_id: str, timeout: float) -> dict[str, Any]:
        """Give back the wallet hold of a sale that was not recorded (idempotent)."""
        return self._call("DELETE", f"/wallet/holds/{sale_id}", timeout=timeout)
