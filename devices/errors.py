"""Errors raised by the device layer.

Two kinds matter to the caller: a configuration that can never work (fix the URL) and a
device that is not answering right now (keep the job, retry later).
"""


class DeviceError(Exception):
    """Base class for every error raised by :mod:`devices`."""


class DeviceConfigError(DeviceError, ValueError):
    """A peripheral URL or option is malformed or names an unsupported device."""


class DeviceUnavailable(DeviceError):
    """The device could not be reached or stopped answering (unplugged, off, offline)."""
