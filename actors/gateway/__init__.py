"""The HTTP API: a Starlette app served by hypercorn's trio worker inside a node."""
