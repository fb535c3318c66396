"""Exceptions raised for bad input: each names the file, line or parameter at fault."""

from __future__ import annotations


class CevnsBayesError(Exception):
    """Base class of every error this package raises on purpose."""


class DataError(CevnsBayesError, ValueError):
    """A release or flux file is missing, unreadable or malformed.

    The message always names the file (and the line or histogram when there is one) and says
    what was expected instead.
    """


class ConfigError(CevnsBayesError, ValueError):
    """An analysis spec, parameter name or option is invalid."""
