"""segmentry: customer segments, LTV and journeys for DTC stores.

>>> from segmentry import Workspace, SegmentryError
"""

from segmentry.errors import QueryError, SegmentryError
from segmentry.workspace import Workspace

__all__ = ["QueryError", "SegmentryError", "Workspace"]
__version__ = "0.1.0"
