"""The edge's settings: ``/etc/fidelis/edge.toml``, then ``FIDELIS_*`` variables, then flags.

Every setting is declared once in :data:`SETTINGS` with its default, its variable, its flag
and its help. :func:`load` resolves them, each later source winning, and remembers where
each value came from, which ``fidelis-edge config show`` prints (secrets masked).

The file is TOML with one key per setting (``port = 8701``); an unknown key or a value of
the wrong kind stops the command with one line naming the file and the key. The default
file may be missing; a file named with ``--config`` or ``FIDELIS_CONFIG`` must exist.
Peripherals stay in ``<data-dir>/config.json`` and ``FIDELIS_PRINTER`` … (docs/peripherals.md).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

__all__ = ["CONFIG_ENV", "DEFAULT_CONFIG_FILE", "SETTINGS", "Config", "ConfigError", "Setting", "load", "mask"]

DEFAULT_CONFIG_FILE = "/etc/fidelis/edge.toml"
CONFIG_ENV = "FIDELIS_CONFIG"
TLS_MODES = ("auto", "on", "off")
ADVERTISE_MODES = ("auto", "on", "off")


class ConfigError(Exception):
    """A setting that cannot be used; the message names the file, variable or flag."""


@dataclass(frozen=True)
class Setting:
    """One setting: its TOML key, kind, default, ``FIDELIS_*`` variable, flag and help text."""

    name: str
    kind: type
    default: Any
    env: str
    flag: str | None
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    low: float | None = None
    high: float | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", str, "./var/edge", "FIDELIS_DATA_DIR", "--data-dir",
            "database, device key, TLS key and certificate, config.json"),
    Setting("host", str, "127.0.0.1", "FIDELIS_HOST", "--host",
            "address the till API listens on; 0.0.0.0 for every interface"),
    Setting("port", int, 8701, "FIDELIS_PORT", "--port", "port of the till API", low=1, high=65535),
    Setting("threads", int, 8, "FIDELIS_THREADS", "--threads", "request threads", low=1, high=256),
    Setting("tls", str, "auto", "FIDELIS_TLS", "--tls / --insecure-http",
            "HTTPS for the till API: auto (HTTPS except on loopback), on, off", choices=TLS_MODES),
    Setting("advertise", str, "auto", "FIDELIS_ADVERTISE", "--advertise / --no-advertise",
            "announce the box on the LAN with zeroconf: auto (unless on loopback), on, off",
            choices=ADVERTISE_MODES),
    Setting("sync_interval", float, 5.0, "FIDELIS_SYNC_INTERVAL", "--sync-interval",
            "seconds between syncs with central", low=0.05, high=3600),
    Setting("sync_max_backoff", float, 60.0, "FIDELIS_SYNC_MAX_BACKOFF", "--sync-max-backoff",
            "longest wait between retries while central is unreachable", low=0.05, high=86400),
    Setting("central_url", str, None, "FIDELIS_CENTRAL_URL", "--central",
            "central's base URL for provision and pair (afterwards the box keeps its own)"),
    Setting("central_ca_file", str, None, "FIDELIS_CENTRAL_CA_FILE", "--ca-file",
            "PEM file of the CA that signed central's certificate (default: the system's CAs)"),
    Setting("enrolment_token", str, None, "FIDELIS_ENROLMENT_TOKEN", "--token",
            "one-time enrolment token for provision (kept out of the process list)", secret=True),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
_KIND_NAMES = {int: "an integer", float: "a number", str: "a string"}


@dataclass(frozen=True)
class Config:
    """The effective settings and, for each, where its value came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    file: Path | None

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def report(self) -> list[dict[str, Any]]:
        """One row per setting for ``config show``: name, value (secrets masked), source, help."""
        return [{"name": s.name, "value": mask(s, self.values[s.name]), "source": self.sources[s.name],
                 "env": s.env, "flag": s.flag, "help": s.help} for s in SETTINGS]


def mask(setting: Setting, value: Any) -> Any:
    """The value as it may be shown: secrets hidden, passwords taken out of URLs."""
    if value is None:
        return None
    if setting.secret:
        return "********"
    if isinstance(value, str) and "://" in value:
        parts = urlsplit(value)
        if parts.password is not None:
            host = parts.hostname or ""
            netloc = f"{parts.username}:********@{host}" + (f":{parts.port}" if parts.port else "")
            return urlunsplit(parts._replace(netloc=netloc))
    return value


def _convert(setting: Setting, raw: Any, where: str) -> Any:
    """``raw`` (from TOML, a variable or a flag) as the setting's kind, checked."""
    value = raw
    if setting.kind in (int, float) and isinstance(raw, str):
        try:
            value = setting.kind(raw.strip())
        except ValueError:
            raise ConfigError(f"{where}: {raw!r} is not {_KIND_NAMES[setting.kind]}") from None
    if setting.kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, setting.kind):
        raise ConfigError(f"{where}: must be {_KIND_NAMES[setting.kind]}")
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"{where}: must be one of {', '.join(setting.choices)}, not {value!r}")
    if setting.low is not None and not setting.low <= value <= setting.high:
        raise ConfigError(f"{where}: must be from {setting.low:g} to {setting.high:g}")
    if isinstance(value, str) and not value.strip() and setting.kind is str:
        return None
    return value


def _read_file(path: Path, required: bool) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        if required:
            raise ConfigError(f"no config file at {path}") from None
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    unknown = sorted(set(data) - set(BY_NAME))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(BY_NAME)})")
    return data


def load(config_file: str | Path | None = None, environ: Mapping[str, str] | None = None,
         flags: Mapping[str, Any] | None = None) -> Config:
    """Resolve every setting: default, then the TOML file, then ``FIDELIS_*``, then ``flags``.

    ``config_file`` is ``--config`` (else ``FIDELIS_CONFIG``, else the default path, which
    may be missing). ``flags`` maps setting names to the values given on the command line;
    ``None`` means not given. Raises :class:`ConfigError` at the first unusable value.
    """
    environ = os.environ if environ is None else environ
    named = config_file or environ.get(CONFIG_ENV)
    path = Path(named or DEFAULT_CONFIG_FILE)
    from_file = _read_file(path, required=bool(named))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        values[setting.name], sources[setting.name] = setting.default, "default"
        if setting.name in from_file:
            values[setting.name] = _convert(setting, from_file[setting.name], f"{path}: {setting.name}")
            sources[setting.name] = str(path)
        if environ.get(setting.env) not in (None, ""):
            values[setting.name] = _convert(setting, environ[setting.env], setting.env)
            sources[setting.name] = setting.env
        given = (flags or {}).get(setting.name)
        if given is not None:
            values[setting.name] = _convert(setting, given, setting.flag or setting.name)
            sources[setting.name] = setting.flag or setting.name
    return Config(values, sources, path if from_file or named else None)
