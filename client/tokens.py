"""Where ``podium login`` keeps tokens, each with the server it came from.

A token is only good at the cluster that issued it: sent anywhere else it is
a confusing 401 (or a secret handed to the wrong host). So the file keeps one
token per server and a command sends the token of the server it talks to; the
server logged in to last is also the default for commands that name none
(no ``--url``, no ``$PODIUM_URL``), so ``podium --url X login alice`` followed
by ``podium list`` lists X's jobs.

The file is JSON, mode 0600::

    {"current": "http://a:8001", "tokens": {"http://a:8001": "eyJ..."}}

A file of one bare token (what ``podium login`` wrote before) is still read,
as a token for whichever server a command talks to, as it was then.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs

from client.failover import split_url

__all__ = ["TokenStore", "token_file"]


def token_file() -> Path:
    configured = os.environ.get("PODIUM_TOKEN_FILE")
    return Path(configured) if configured else Path.home() / ".config" / "podium" / "token"


def addresses(url: str) -> frozenset[str]:
    """The masters a URL names, spelled one way (so ``127.0.0.1:8080`` and
    ``http://127.0.0.1:8080/`` are the same server)."""
    scheme, parts = split_url(url)
    return frozenset(p if p.startswith(scheme) else scheme + p for p in parts)


@attrs.define
class TokenStore:
    path: Path
    current: str | None = None
    tokens: dict[str, str] = attrs.Factory(dict)
    # a token from the one-token format, good for any server
    legacy: str | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> TokenStore:
        path = path or token_file()
        try:
            text = path.read_text().strip()
        except OSError:
            return cls(path)
        if not text.startswith("{"):
            return cls(path, legacy=text or None)
        try:
            data = json.loads(text)
            return cls(path, data.get("current"), dict(data.get("tokens", {})))
        except (ValueError, AttributeError, TypeError):
            return cls(path)

    def token_for(self, url: str) -> str | None:
        """The token of a server sharing a master with ``url`` (a cluster's token works at
        any of its masters), else the legacy one."""
        wanted = addresses(url)
        for server, token in self.tokens.items():
            try:
                if addresses(server) & wanted:
                    return token
            except ValueError:
                continue
        return self.legacy

    def save(self, url: str, token: str) -> None:
        """Keep ``token`` for ``url`` (replacing that server's old one) and make ``url`` the
        default server; the file is created 0600 before the token is written to it."""
        wanted = addresses(url)
        self.tokens = {s: t for s, t in self.tokens.items() if not _overlaps(s, wanted)}
        self.tokens[url] = token
        self.current = url
        self.legacy = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(mode=0o600)
        self.path.chmod(0o600)
        self.path.write_text(json.dumps({"current": url, "tokens": self.tokens}) + "\n")


def _overlaps(server: str, wanted: frozenset[str]) -> bool:
    try:
        return bool(addresses(server) & wanted)
    except ValueError:
        return True  # unreadable: drop it
