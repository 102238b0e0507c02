"""capss: the CAPSS bridge library (shipped as the Lambda layer, used by the `capss` command)."""

from capss._errors import CapssError, NeedsPersonError, ProtocolError, TransientError
from capss._kinds import FileKind
from capss._outcome import Counts, FileResult, Outcome

__all__ = [
    "CapssError",
    "Counts",
    "FileKind",
    "FileResult",
    "NeedsPersonError",
    "Outcome",
    "ProtocolError",
    "TransientError",
]
