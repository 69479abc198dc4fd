"""What each node role runs: the actors under the root supervisor and the HTTP app.

``runtime.node`` loads this module by name (``ROLES``) so that the runtime
layer never imports the actors layer.
"""

from __future__ import annotations

from actors.gateway.app import Gateway, build_app
from runtime.config import NodeConfig
from runtime.supervisor import ChildSpec, Supervisor
from runtime.system import ActorSystem


class NodeRoles:
    def root(self, config: NodeConfig, system: ActorSystem) -> Supervisor:
        children: list[ChildSpec] = []
        return Supervisor(f"node-{config.id}", children)

    def http_app(self, config: NodeConfig, system: ActorSystem) -> object:
        return build_app(Gateway(system, max_body=config.http.max_body_bytes))

    async def drain(self, config: NodeConfig, system: ActorSystem) -> None:
        """Nothing to hand back yet: no worker runs on this node."""


ROLES = NodeRoles()
