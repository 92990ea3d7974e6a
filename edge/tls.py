"""The till API's TLS key and self-signed certificate, and the fingerprint tills pin.

``fidelis-edge init`` (and ``provision``, ``pair``, ``serve`` on a box made before TLS)
makes ``tls_key.pem`` (ECDSA P-256, mode 0600) and ``tls_cert.pem`` in the data directory,
once. Nobody signs the certificate: a till trusts the box by **pinning** its fingerprint,
shown by ``status``, ``till add`` and the zeroconf TXT record. The fingerprint is the
SHA-256 of the certificate's DER bytes as upper-case hex pairs joined by colons, the form
``openssl x509 -noout -fingerprint -sha256`` prints and ``urllib3``'s ``assert_fingerprint``
accepts.

P-256 rather than Ed25519: the tills' TLS stacks (old Android, Windows, embedded) all speak
ECDSA P-256; few speak Ed25519 certificates.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["CERT_FILE", "KEY_FILE", "TlsError", "ensure_certificate", "fingerprint", "fingerprint_of", "paths"]

KEY_FILE = "tls_key.pem"
CERT_FILE = "tls_cert.pem"
VALIDITY = timedelta(days=20 * 365)
# A pinned certificate that expires stops every till of the shop on the same morning; the
# pin, not the dates, is what the till checks, so the certificate lives as long as the box.


class TlsError(Exception):
    """The key or certificate cannot be read or made; the message says which file."""


def paths(data_dir: Path) -> tuple[Path, Path]:
    """``(key file, certificate file)`` in ``data_dir``."""
    return Path(data_dir) / KEY_FILE, Path(data_dir) / CERT_FILE


def fingerprint_of(der: bytes) -> str:
    """SHA-256 of a DER certificate as ``AB:CD:…`` (32 upper-case hex pairs)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def fingerprint(data_dir: Path) -> str | None:
    """The fingerprint of the box's certificate, or None when it has none yet."""
    _, cert_path = paths(data_dir)
    try:
        pem = cert_path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TlsError(f"cannot read {cert_path}: {exc.strerror or exc}") from None
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise TlsError(f"{cert_path} is not a PEM certificate; move it away and run 'fidelis-edge init'") from None
    return fingerprint_of(certificate.public_bytes(serialization.Encoding.DER))


def _names(common_name: str) -> x509.SubjectAlternativeName:
    hostname = socket.gethostname() or "localhost"
    dns = sorted({hostname, f"{hostname.split('.')[0]}.local", "localhost"})
    return x509.SubjectAlternativeName([*(x509.DNSName(name) for name in dns),
                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the first byte (no window where another user could open it).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def ensure_certificate(data_dir: Path, label: str = "fidelis-edge", now: datetime | None = None) -> tuple[str, bool]:
    """Make the TLS key and certificate unless both exist; return ``(fingerprint, created)``.

    Never replaces an existing pair: tills have pinned its fingerprint. The key is written
    before the certificate, so a key alone is what a crash in between leaves; no till can
    have pinned a certificate that never existed, and it is made again. A certificate
    without its key is refused with what to do.
    """
    data_dir = Path(data_dir)
    key_path, cert_path = paths(data_dir)
    if key_path.exists() and cert_path.exists():
        if key_path.stat().st_mode & 0o077:
            raise TlsError(f"{key_path} is readable by others; run 'chmod 600 {key_path}'")
        return fingerprint(data_dir), False  # type: ignore[return-value]
    if cert_path.exists():
        raise TlsError(f"{cert_path} is there without {key_path.name}; move it away and run 'fidelis-edge init' "
                       "(tills must then pin the new fingerprint)")
    key_path.unlink(missing_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = now or datetime.now(timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label[:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fidelis edge")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))  # a box whose clock is a little behind
        .not_valid_after(now + VALIDITY)
        .add_extension(_names(label), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    partial = cert_path.with_suffix(".tmp")
    partial.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    os.replace(partial, cert_path)  # the certificate appears whole or not at all
    return fingerprint_of(certificate.public_bytes(serialization.Encoding.DER)), True
