"""``python -m segmentry.store.migrations "what changes"``: write the next revision from what
segmentry.store.schema adds (see segmentry.store.migrate.new_revision)."""

from __future__ import annotations

import sys

from segmentry.store.migrate import new_revision

if len(sys.argv) != 2 or not sys.argv[1].strip():
    sys.exit('usage: python -m segmentry.store.migrations "what changes"')
print(new_revision(sys.argv[1]))
