"""The node's keep-alive HTTP client (``exchange.transport``) against a real uvicorn server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from batteryloop.exchange.runtime import reserve_port
from batteryloop.exchange.transport import KeepAliveClient


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"method": request.method, "query": dict(request.query_params), "body": body.decode(),
                         "content_type": request.headers.get("content-type"),
                         "auth": request.headers.get("authorization")})


async def missing(request: Request) -> Response:
    return Response(b"nope", status_code=404)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST", "PUT"]), Route("/missing", missing)])
    sock = reserve_port()
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=1))
    th = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    while not srv.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    srv.should_exit = True
    th.join(5)


def _conns(c: KeepAliveClient) -> list[Any]:
    return [conn for idle in c._idle.values() for _, conn in idle]


def test_requests_and_keep_alive(server: str) -> None:
    c = KeepAliveClient()
    r = c.post(server + "/echo", content=b'{"a":1}', headers={"Content-Type": "application/json",
                                                              "Authorization": "Bearer x"})
    assert r.headers["Content-Type"] == r.headers["content-type"] == "application/json"
    assert r.status_code == 200 and r.json() == {"method": "POST", "query": {}, "body": '{"a":1}',
                                                 "content_type": "application/json", "auth": "Bearer x"}
    first = _conns(c)
    assert len(first) == 1
    r = c.put(server + "/echo?x=1", json={"b": 2}, params={"y": "z"})
    assert r.json()["query"] == {"x": "1", "y": "z"} and r.json()["body"] == '{"b":2}'
    assert r.json()["content_type"] == "application/json"
    assert _conns(c) == first  # the same connection, kept alive
    c.close()
    assert _conns(c) == []


def test_connection_closed_by_the_server_is_replaced(server: str) -> None:
    c = KeepAliveClient()
    assert c.get(server + "/echo").status_code == 200
    before = _conns(c)[0]
    time.sleep(1.6)  # the server's keep-alive timeout is 1 s: it has closed the connection
    assert c.get(server + "/echo").status_code == 200
    assert _conns(c)[0] is not before
    c.close()


def test_errors_are_httpx_errors(server: str) -> None:
    c = KeepAliveClient(timeout=2)
    r = c.get(server + "/missing")
    assert r.status_code == 404 and r.text == "nope" and not r.is_success
    with pytest.raises(httpx.HTTPStatusError):
        r.raise_for_status()
    sock = reserve_port()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    with pytest.raises(httpx.ConnectError):
        c.get(f"http://127.0.0.1:{port}/x")
    with pytest.raises(httpx.UnsupportedProtocol):
        c.get("ftp://127.0.0.1/x")


def test_threads_share_the_client(server: str) -> None:
    c = KeepAliveClient()

    def one(i: int) -> int:
        return int(c.get(server + f"/echo?i={i}").json()["query"]["i"])

    with ThreadPoolExecutor(8) as ex:
        assert sorted(ex.map(one, range(80))) == list(range(80))
    assert 1 <= len(_conns(c)) <= 8
    c.close()


def test_proxied_requests_use_the_fallback_client() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"via": "fallback"})

    fallback = httpx.Client(transport=httpx.MockTransport(handler))
    c = KeepAliveClient(fallback=fallback)
    c._proxies = {"http": "http://proxy.invalid:3128"}  # as if HTTP_PROXY were set
    r = c.get("http://partner.invalid/dsp/catalog")
    assert r.json() == {"via": "fallback"} and seen == ["http://partner.invalid/dsp/catalog"]
