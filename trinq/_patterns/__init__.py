"""Socket-type strategies (one small class each) and their registry."""

from . import _pipeline  # registers PAIR, PUSH, PULL
from ._base import PATTERNS as PATTERNS
from ._base import Pattern as Pattern
from ._base import register_pattern as register_pattern

__all__ = ["PATTERNS", "Pattern", "register_pattern"]
del _pipeline
