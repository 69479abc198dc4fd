import io
import json
import logging

from runtime.logs import setup_logging


def test_json_lines_carry_extra_fields_and_node() -> None:
    out = io.StringIO()
    setup_logging("debug", node="m1", stream=out)
    logging.getLogger("podium.test").info("job done", extra={"job": "j-1", "attempt": 2})
    line = json.loads(out.getvalue())
    assert line["msg"] == "job done"
    assert line["job"] == "j-1" and line["attempt"] == 2
    assert line["node"] == "m1" and line["level"] == "info"
    logging.getLogger("podium").handlers.clear()
    logging.getLogger("podium").propagate = True
