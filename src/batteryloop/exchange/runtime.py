"""Running nodes: one uvicorn server per node, in this process (threads) or as ``node serve``."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from .app import create_node_app
from .config import NodeConfig
from .node import Node


def reserve_port(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A bound listening socket (port 0 = a free one): the port is known before the node is built."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class ThreadedNode:
    """A node served by uvicorn on its own thread (several participants in one process, still over HTTP)."""

    def __init__(self, node: Node, sock: socket.socket, app: Any = None) -> None:
        self.node = node
        self.server = uvicorn.Server(uvicorn.Config(app or create_node_app(node), log_level="warning",
                                                    lifespan="off", access_log=False, proxy_headers=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"node {node.config.name} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
        self.node.close()


def start_node(config: NodeConfig | dict[str, Any], *, sock: socket.socket | None = None,
               **node_kwargs: Any) -> ThreadedNode:
    """Build and serve a node; with ``sock`` the config's base_url must already name that port."""
    cfg = config if isinstance(config, NodeConfig) else NodeConfig.model_validate(config)
    if sock is None:
        from urllib.parse import urlsplit

        u = urlsplit(cfg.base_url)
        sock = reserve_port(cfg.host, cfg.port or u.port or 0)
    return ThreadedNode(Node(cfg, **node_kwargs), sock)


def serve(config: NodeConfig) -> None:
    """Serve one node in the foreground (``batteryloop node serve --config FILE``)."""
    from urllib.parse import urlsplit

    if not config.key:
        import logging

        logging.getLogger("batteryloop.exchange").warning(
            "node %s has no 'key' in its configuration: a new Ed25519 key is generated, so its DID document "
            "changes at every start (run 'batteryloop node keygen URL' and put the key in the config)", config.name)
    node = Node(config)
    port = config.port or urlsplit(config.base_url).port or 8000
    try:
        uvicorn.run(create_node_app(node), host=config.host, port=port, log_level="info", access_log=False,
                    proxy_headers=False)
    finally:
        node.close()
