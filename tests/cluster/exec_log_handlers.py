"""A handler that keeps an execution log, for the pause test (``--handlers`` loads it).

Every start of a job appends ``job_id attempt pid`` to the file its payload
names, before the job's work, so an attempt that runs twice (even one stopped
halfway) shows up as two lines. Lines are short single appends, which Linux
keeps whole across processes.
"""

from __future__ import annotations

import os
import time

from actors.worker.handlers import JobContext, handler


@handler("once.log")
def log_execution(payload: dict[str, object], context: JobContext) -> str:
    line = f"{context.job_id} {context.attempt} {os.getpid()}\n"
    with open(str(payload["path"]), "a") as log:
        log.write(line)
    time.sleep(float(str(payload["seconds"])))
    return "ran"
