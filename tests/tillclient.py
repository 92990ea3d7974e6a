"""A till as a shop would write it: HTTPS to the edge, trusting only the pinned fingerprint.

The edge's certificate is self-signed, so a till cannot verify it against a CA; it pins the
SHA-256 fingerprint that ``fidelis-edge till add`` (or ``status``, or zeroconf) showed.
urllib3 checks a pinned fingerprint itself (``assert_fingerprint``); requests passes it on
through a transport adapter. docs/network.md shows the same for other clients.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter


class PinnedAdapter(HTTPAdapter):
    """HTTPS whose server certificate must have this SHA-256 fingerprint (``AB:CD:…``)."""

    def __init__(self, fingerprint: str, **kwargs) -> None:
        self.fingerprint = fingerprint
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def send(self, request, **kwargs):
        # No CA signed the edge's certificate: the pin replaces the CA and name checks. Set
        # here, not on the session, where REQUESTS_CA_BUNDLE would override it.
        kwargs["verify"] = False
        return super().send(request, **kwargs)


def pinned_session(fingerprint: str, key: str | None = None) -> requests.Session:
    """A session that talks only to the edge holding the pinned certificate."""
    session = requests.Session()
    session.mount("https://", PinnedAdapter(fingerprint))
    if key:
        session.headers["Authorization"] = f"Bearer {key}"
    return session
