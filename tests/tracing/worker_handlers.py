"""The traced handlers, registered by import: ``--handlers tests.tracing.worker_handlers``."""

from actors.worker.handlers import handler
from tests.tracing.traced_handlers import broken, resize

handler("resize")(resize)
handler("broken")(broken)
