"""A node's app served over real HTTP by uvicorn on a free loopback port, in a thread: for clients that
open their own connections (the official AAS test engine, aas-python-http-client, the Tractus-X SDK in its
own venv), where a TestClient will not do."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from batteryloop.exchange.runtime import reserve_port


@contextmanager
def http_served(app: Any, *, start_timeout: float = 60.0) -> Iterator[str]:
    """``http://127.0.0.1:<port>`` while ``app`` is served there; the server stops on leaving."""
    sock = reserve_port()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"uvicorn did not start serving within {start_timeout:.0f} s")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
