"""Schemathesis hooks: sign the fuzzed sync requests as an enrolled device would.

Loaded by the schemathesis command line through ``SCHEMATHESIS_HOOKS=fuzz_hooks`` (see
tests/test_fuzz_api.py), which also names the device and its key file in the environment.
The signature covers the bytes actually sent, so it is made on requests' prepared request,
after schemathesis has serialized the generated body and query. The auth checks' probes
(no or invalid credentials) are sent without it and must still be refused.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import requests
import schemathesis
from sync.entry import load_private_key
from sync.protocol import SIGNATURE_HEADER, sign_request

DEVICE_ID = os.environ.get("FIDELIS_FUZZ_DEVICE_ID", "")
KEY_FILE = os.environ.get("FIDELIS_FUZZ_DEVICE_KEY")


class _DeviceSignature(requests.auth.AuthBase):
    def __init__(self, key) -> None:
        self.key = key

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        body = prepared.body or b""
        body = body.encode() if isinstance(body, str) else body
        headers = sign_request(self.key, DEVICE_ID, prepared.method, prepared.path_url, body,
                               datetime.now(timezone.utc))
        prepared.headers.update(headers)
        return prepared


if KEY_FILE:
    _KEY = load_private_key(Path(KEY_FILE).read_bytes())

    @schemathesis.auth().apply_to(path_regex=r"^/sync/v1/(head|push|pull|authorize)$")
    class DeviceAuth:
        """Sign every request to a signed sync route with the enrolled device's key."""

        def get(self, case, context):
            return _DeviceSignature(_KEY)

        def set(self, case, data, context):
            case.headers = {name: value for name, value in (case.headers or {}).items()
                            if name.lower() != SIGNATURE_HEADER.lower()}
            case._auth = data
