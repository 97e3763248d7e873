"""Typed exceptions of mesonportal.

Every error a user can trigger by bad input derives from :class:`MesonportalError`; the CLI
turns those into a one-line message and exit code 2.
"""

from __future__ import annotations


class MesonportalError(Exception):
    """Base class of all errors raised deliberately by mesonportal."""


class ConfigError(MesonportalError, ValueError):
    """Malformed or out-of-range configuration (TOML file, key, value)."""


class UnknownExperimentError(ConfigError):
    """An experiment name that is not shipped and not a readable TOML path."""


class ParameterError(MesonportalError, ValueError):
    """A model or run parameter outside its allowed range, or an unknown parameter name."""


class UnknownModelError(ParameterError):
    """A model or benchmark name that does not exist."""


class KinematicsError(MesonportalError, ValueError):
    """A kinematically impossible request where one is not allowed (closed channels are
    *not* errors: they are reported with zero rate)."""


class DataError(MesonportalError):
    """Bundled data missing or inconsistent (e.g. covariance not positive definite)."""


class NoSensitivityError(MesonportalError):
    """A prediction that is zero everywhere, so that a fit has nothing to constrain."""


class ScanInterrupted(MesonportalError):
    """A scan stopped by the user (Ctrl-C): the finished points are saved; ``--resume`` continues.
    The CLI prints the message on one line and exits with code 130."""


class OutputError(MesonportalError):
    """An output (file, directory, plot) that cannot be written."""
