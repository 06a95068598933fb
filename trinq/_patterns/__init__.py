"""Socket-type strategies (one small class each) and their registry.

Importing the modules registers their strategies.
"""

from . import _draft, _pipeline, _pubsub, _reqrep
from ._base import PATTERNS as PATTERNS
from ._base import Pattern as Pattern
from ._base import register_pattern as register_pattern
from ._stream import Stream as Stream

__all__ = ["PATTERNS", "Pattern", "register_pattern"]
del _draft, _pipeline, _pubsub, _reqrep
