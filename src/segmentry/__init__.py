"""segmentry: customer segments, LTV and journeys for DTC stores.

>>> from segmentry import Workspace, SegmentryError
"""

from segmentry.app.workspace import Workspace
from segmentry.core.errors import QueryError, SegmentryError

__all__ = ["QueryError", "SegmentryError", "Workspace"]
__version__ = "0.1.0"
