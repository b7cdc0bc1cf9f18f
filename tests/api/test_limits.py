"""Request limits as an attacker meets them: body size (413 before reading), JSON depth and numbers (400),
AASX decompression (422 before the package is opened), and the rate limiter keyed on who is calling.
Each refusal is a problem document naming its limit and setting; each has a positive control."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
import tracemalloc
import zipfile
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from batteryloop.server import create_app
from batteryloop.api import ratelimit
from batteryloop.api.limits import json_limit_error
from batteryloop.api.ratelimit import client_address, parse_networks
from batteryloop.errors import InvalidData
from batteryloop.formats import aas, import_passport
from batteryloop.formats._io import load_json
from batteryloop.sim import pilot
from tests.conftest import make_services, seed_pilot

OP = pilot.AUTOMAKER
MiB = 2**20


def H(tokens: dict[str, str], who: str = OP) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


@pytest.fixture
def small(sqlite_store: Any) -> Iterator[TestClient]:
    """A pilot node with small body limits (64 KiB, bulk 2 MiB), so that tests move little data."""
    svc = make_services(sqlite_store)
    tokens = seed_pilot(svc)["tokens"]
    settings = dataclasses.replace(svc.settings, max_body_bytes=64 * 1024, max_bulk_body_bytes=2 * MiB)
    with TestClient(create_app(settings, services=svc)) as c:
        c.tokens = tokens  # type: ignore[attr-defined]
        yield c


def asgi(app: Any, method: str, path: str, headers: dict[str, str], chunks: Iterator[bytes]
         ) -> tuple[int, dict[str, str], bytes, int]:
    """Call the app as a server would, the body arriving in ``chunks``; (status, headers, body, chunks read)."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            await asyncio.sleep(3600)  # the client sent everything and waits
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "root_path": "", "scheme": "http", "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "state": {}}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 60))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body, read


def endless(size: int = MiB, most: int = 200, first: bytes = b"") -> Iterator[bytes]:
    return iter(([first] if first else []) + [b"x" * size] * most)


UPLOAD = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'


# --------------------------------------------------------------------------------- body size
@pytest.mark.parametrize("path", ["/api/v1/passports", "/api/v1/health/grade", "/api/v1/passports/batch"])
@pytest.mark.parametrize("signed_in", [False, True])
def test_declared_oversize_is_refused_before_a_byte_is_read(client: Any, path: str, signed_in: bool) -> None:
    limit = 200 * MiB if signed_in and "batch" in path else 4 * MiB
    headers = {"content-type": "application/json", "content-length": str(limit + 1)}
    if signed_in:
        headers |= H(client.tokens)
    status, hdrs, body, read = asgi(client.app, "POST", path, headers, endless())
    assert (status, read) == (413, 0)
    p = orjson.loads(body)
    assert hdrs["content-type"] == "application/problem+json" and p["status"] == 413 and p["limit"] == limit
    assert p["setting"] in p["detail"] and p["setting"].startswith("BATTERYLOOP_MAX_")


def test_oversize_invalid_json_from_anonymous_is_413_not_parsed(client: Any) -> None:
    """Not parsed: invalid JSON would be a 400/422, an anonymous caller a 401; the size answers first."""
    junk = b"{" + b"x" * (4 * MiB)
    for path in ("/api/v1/passports", "/api/v1/passports/import", "/api/v1/health/grade", "/api/v1/trace/events"):
        r = client.post(path, content=junk, headers={"content-type": "application/json"})
        assert r.status_code == 413, path
        assert "BATTERYLOOP_MAX_BODY_BYTES" in r.json()["detail"]
    # the anonymous grade page does not echo a huge field back: the body never reaches it
    r = client.post("/api/v1/health/grade", json={"battery_id": "x" * (5 * MiB)})
    assert r.status_code == 413 and len(r.content) < 1000


@pytest.mark.parametrize("ctype", ["application/json", "multipart/form-data; boundary=x", None])
def test_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit(client: Any, ctype: str | None) -> None:
    """No Content-Length: counted as it arrives, refused a chunk past 4 MiB, never buffered whole."""
    headers = {"content-type": ctype} if ctype else {}
    upload = bool(ctype and ctype.startswith("multipart"))
    path = "/api/v1/passports/PACK/cycler-data" if upload else "/api/v1/passports"
    status, _, body, read = asgi(client.app, "POST", path, headers, endless(MiB, 200, UPLOAD if upload else b""))
    assert status == 413 and read <= 5 + upload, read
    assert orjson.loads(body)["limit"] == 4 * MiB


def test_chunked_bulk_upload_of_a_participant_stops_at_the_bulk_limit(small: Any) -> None:
    headers = H(small.tokens) | {"content-type": "multipart/form-data; boundary=x"}
    status, _, body, read = asgi(small.app, "POST", "/api/v1/passports/PACK/state-of-health", headers,
                                 endless(256 * 1024, 400, UPLOAD))
    assert status == 413 and read == 1 + 8  # the part header, then 2 MiB in 256 KiB chunks: the eighth passes it
    assert "BATTERYLOOP_MAX_BULK_BODY_BYTES" in orjson.loads(body)["detail"]


def test_bulk_endpoints_take_more_than_the_default_from_a_participant_only(small: Any) -> None:
    batch = {"passports": list(pilot.generate_batteries(120, seed=5))}
    size = len(orjson.dumps(batch))
    assert 64 * 1024 < size < 2 * MiB
    r = small.post("/api/v1/passports/batch", json=batch, headers=H(small.tokens))
    assert r.status_code == 201 and r.json()["stored"] == 120
    # anonymous: the default limit, and the answer says where the bigger one is
    r = small.post("/api/v1/passports/batch", json=batch)
    assert r.status_code == 413 and "signed-in participants may send up to 2 MiB" in r.json()["detail"]
    # an unknown token is anonymous
    r = small.post("/api/v1/passports/batch", json=batch, headers={"Authorization": "Bearer blt_nope"})
    assert r.status_code == 413
    # a path that is not bulk keeps the default limit, signed in or not
    r = small.post("/api/v1/passports", json={"pad": "x" * 70_000}, headers=H(small.tokens))
    assert r.status_code == 413 and r.json()["limit"] == 64 * 1024
    # a multipart upload over the default reaches the route (which judges the file)
    pid = small.post("/api/v1/passports", json=next(pilot.generate_batteries(1, seed=9)),
                     headers=H(small.tokens)).json()["passport_id"]
    files = {"files": ("cycler.csv", b"nonsense\n" * 20_000, "text/csv")}
    r2 = small.post(f"/api/v1/passports/{pid}/state-of-health", files=files, headers=H(small.tokens))
    assert r2.status_code == 422, r2.text
    assert small.post(f"/api/v1/passports/{pid}/state-of-health", files=files).status_code == 413


# ----------------------------------------------------------------------------- JSON limits
DEEP = b"[" * 100_000 + b"]" * 100_000
WRITES = [("POST", "/api/v1/passports/import"), ("POST", "/api/v1/passports/batch"), ("POST", "/api/v1/trace/events"),
          ("POST", "/api/v1/trace/batches"), ("POST", "/api/v1/models"), ("POST", "/api/v1/passports"),
          ("PATCH", "/api/v1/passports/BL-X"), ("PATCH", "/api/v1/models/M"), ("POST", "/api/v1/health/grade")]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_deep_and_huge_json_is_400_naming_the_limit(client: Any, method: str, path: str) -> None:
    cases = [(DEEP, "json:depth", "64 levels"), (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "json:depth", "64 levels"),
             (b"[" * 100_000, "json:depth", "64 levels"),
             (b'{"n": ' + b"1" * 5000 + b"}", "json:digits", "50 digits"),
             (b'{"n": 1e999}', "json:finite", "finite"), (b'{"n": NaN}', "json:finite", "finite"),
             (b'{"n": -Infinity}', "json:finite", "finite")]
    for headers in ({}, H(client.tokens)):
        for body, rule, words in cases:
            for ctype in ("application/json", "application/octet-stream"):
                r = client.request(method, path, content=body, headers=headers | {"content-type": ctype})
                assert r.status_code == 400, (path, rule, r.text[:200])
                p = r.json()
                assert p["rule"] == rule and words in p["detail"], p
                assert r.headers["content-type"] == "application/problem+json"
    assert "BATTERYLOOP_MAX_JSON_DEPTH" in client.request(method, path, content=DEEP).json()["detail"]


def test_json_within_the_limits_passes(client: Any) -> None:
    ok = [b"[" * 64 + b"]" * 64, b'["' + b"[" * 1000 + b'"]', b'{"n": ' + b"9" * 50 + b"}", b'[1e249, 1e-999, 0.5]',
          b'{"NaN": "Infinity", "d": "' + b"1" * 500 + b'"}', b'["\\\\", "\\"[[[", []]',
          ("[" * 60 + "]" * 60).encode("utf-16")]
    for body in ok:
        assert json_limit_error(body, max_depth=64, max_digits=50) is None, body[:40]
    bad = [b"[" * 65 + b"]" * 65, b'["\\\\"' + b"[" * 100 + b"]", b"]" * 100 + b"[" * 100, b"[1e250]",
           b"[" + b"1" * 51 + b"]", ("[" * 100 + "]" * 100).encode("utf-16")]
    for body in bad:
        assert json_limit_error(body, max_depth=64, max_digits=50) is not None, body[:40]
    # a legitimate write still goes through the scan
    r = client.post("/api/v1/passports", json=next(pilot.generate_batteries(1, seed=3)), headers=H(client.tokens))
    assert r.status_code == 201


def test_format_readers_refuse_what_the_middleware_would(client: Any) -> None:
    """The CLI and other callers of the format readers meet the same refusals, as InvalidData, never a crash."""
    for payload, rule in [(DEEP, "json:depth"), (b'{"a": ' + b"1" * 5000 + b"}", "json:int_digits"),
                          (b'{"a": 1e999}', "json:finite"), (b'{"a": NaN}', "json:finite")]:
        with pytest.raises(InvalidData) as e:
            load_json(payload)
        assert e.value.errors[0]["rule"] == rule
        with pytest.raises(InvalidData):
            import_passport(payload)


# ------------------------------------------------------------------------------------ AASX
def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """One part of 200 MiB of zeros, compressed to ~200 KB; written in 1 MiB steps so the test stays small."""
    buf = io.BytesIO()
    zero = bytes(MiB)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        with z.open("aasx/data.xml", "w", force_zip64=True) as f:
            for _ in range(200):
                f.write(zero)
    return buf.getvalue()


def test_zip_bomb_is_refused_fast_with_flat_memory(client: Any, bomb: bytes) -> None:
    assert len(bomb) < 2 * MiB
    tracemalloc.start()
    t = time.perf_counter()
    r = client.post("/api/v1/passports/import", params={"format": "aasx"}, content=bomb,
                    headers=H(client.tokens) | {"content-type": "application/asset-administration-shell-package"})
    took = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert r.status_code == 422, r.text
    err = r.json()["errors"][0]
    assert err["rule"] == "aasx:ratio" and "100:1" in err["message"]
    assert took < 2 and peak < 30 * MiB, (took, peak)
    # the import authenticates before it reads: anonymous is 401 (the middleware saw a zip, not JSON)
    r = client.post("/api/v1/passports/import", content=bomb)
    assert r.status_code == 401


def test_package_rules(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("../evil.xml", "/etc/passwd", "aasx\\evil.xml", "aasx/%2e%2e/%2e%2e/evil.xml", "C:/evil.xml"):
        with pytest.raises(InvalidData) as e:
            aas.check_package(_zip({name: b"<x/>"}))
        assert e.value.errors[0]["rule"] == "aasx:part_name", name
    with pytest.raises(InvalidData) as e:
        aas.check_package(_zip({f"p{i}.xml": b"" for i in range(1001)}))
    assert e.value.errors[0]["rule"] == "aasx:entries" and "1000" in e.value.detail
    monkeypatch.setattr(aas, "AASX_MAX_BYTES", MiB)
    with pytest.raises(InvalidData) as e:  # stored, so no ratio: only the size
        aas.check_package(_zip({"a.bin": bytes(range(256)) * 4096, "b.bin": b"x"}, zipfile.ZIP_STORED))
    assert e.value.errors[0]["rule"] == "aasx:size"
    with pytest.raises(InvalidData) as e:
        aas.check_package(b"PK\x03\x04 not a zip")
    assert e.value.errors[0]["rule"] == "aasx"
    r = client.post("/api/v1/passports/import", content=_zip({"../x.xml": b"<x/>"}), headers=H(client.tokens))
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "aasx:part_name"


def test_a_real_aasx_passes_the_package_rules(client: Any) -> None:
    pid = client.post("/api/v1/passports", json=next(pilot.generate_batteries(1, seed=8)),
                      headers=H(client.tokens)).json()["passport_id"]
    r = client.get(f"/api/v1/passports/{pid}/export", params={"format": "aasx"}, headers=H(client.tokens))
    assert r.status_code == 200
    aas.check_package(r.content)


# ------------------------------------------------------------------------------ rate limit
@pytest.fixture
def limited(sqlite_store: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """60 anonymous requests a minute (bursts of 12), 120 per participant (bursts of 24); a builder of clients."""
    svc = make_services(sqlite_store)
    tokens = seed_pilot(svc)["tokens"]
    monkeypatch.setattr(ratelimit, "monotonic", lambda: 1000.0)  # no refill during a test: counts are exact
    monkeypatch.setattr(ratelimit, "wallclock", lambda: 1.7e9)  # the same for buckets in PostgreSQL

    def build(trusted: str = "", peer: str = "10.1.2.3") -> TestClient:
        settings = dataclasses.replace(svc.settings, rate_limit_per_minute=60, rate_limit_participant_per_minute=120,
                                       trusted_proxies=trusted)
        c = TestClient(create_app(settings, services=svc), client=(peer, 4000))
        c.tokens = tokens  # type: ignore[attr-defined]
        return c

    yield build


def codes(c: TestClient, n: int, **kw: Any) -> list[int]:
    return [c.get("/api/v1/health", **kw).status_code for _ in range(n)]


def test_a_fake_cookie_or_token_no_longer_skips_the_limit(limited: Any) -> None:
    c = limited()
    c.cookies.set("batteryloop_token", "not-a-token")
    assert codes(c, 14)[-2:] == [429, 429]
    c = limited(peer="10.1.2.4")  # another address (on PostgreSQL every app shares the buckets)
    got = codes(c, 14, headers={"Authorization": "Bearer blt_made_up", "Cookie": "x=batteryloop_token"})
    assert got[:12] == [200] * 12 and got[-1] == 429
    r = c.get("/api/v1/models")
    assert "BATTERYLOOP_RATE_LIMIT_PER_MINUTE" in r.json()["detail"]


def test_participants_are_keyed_by_participant_with_their_own_limit(limited: Any) -> None:
    c = limited()
    me, other = H(c.tokens, OP), H(c.tokens, pilot.RECYCLER_EU)
    assert codes(c, 24, headers=me) == [200] * 24  # twice the anonymous burst
    r = c.get("/api/v1/health", headers=me)
    assert r.status_code == 429 and "per participant" in r.json()["detail"]
    assert "BATTERYLOOP_RATE_LIMIT_PARTICIPANT_PER_MINUTE" in r.json()["detail"]
    c.cookies.set("batteryloop_token", c.tokens[OP])  # the web cookie is the same participant
    assert c.get("/api/v1/health").status_code == 429
    c.cookies.clear()
    assert codes(c, 5, headers=other) == [200] * 5  # another participant, same address: its own bucket
    assert codes(c, 5) == [200] * 5  # anonymous from that address: its own bucket too
    assert codes(c, 40, headers={"Authorization": "Bearer admin-secret-token"}) == [200] * 40  # the admin


def test_forwarded_headers_count_only_from_a_trusted_proxy(limited: Any) -> None:
    spoof = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(20)]
    c = limited()  # no trusted proxy: the header is ignored, every request is the peer's
    assert [c.get("/api/v1/health", headers=h).status_code for h in spoof][-1] == 429
    c = limited(trusted="10.0.0.0/8")  # behind a trusted proxy: each forwarded client has its own bucket
    assert {c.get("/api/v1/health", headers=h).status_code for h in spoof} == {200}
    assert codes(c, 14, headers={"X-Forwarded-For": "198.51.100.7"})[-1] == 429
    c = limited(trusted="192.0.2.1")  # a proxy is trusted, but not this peer
    assert [c.get("/api/v1/health", headers=h).status_code for h in spoof][-1] == 429


def test_client_address_walks_the_hops_from_the_right() -> None:
    def scope(peer: str, *headers: tuple[str, str]) -> dict[str, Any]:
        return {"client": (peer, 1), "headers": [(k.encode(), v.encode()) for k, v in headers]}

    proxies = parse_networks("10.0.0.0/8, ::1")
    # the client may write anything leftmost; the trusted proxy appends the address it saw
    assert client_address(scope("10.0.0.2", ("x-forwarded-for", "1.1.1.1, 198.51.100.9, 10.0.0.7")), proxies) \
        == "198.51.100.9"
    assert client_address(scope("::1", ("forwarded", 'for="[2001:db8::17]:4711";proto=https')), proxies) \
        == "2001:db8::17"
    assert client_address(scope("::1", ("forwarded", "for=192.0.2.60:80, for=10.0.0.3")), proxies) == "192.0.2.60"
    assert client_address(scope("198.51.100.1", ("x-forwarded-for", "1.1.1.1")), proxies) == "198.51.100.1"
    assert client_address(scope("10.0.0.2"), proxies) == "10.0.0.2"


# ------------------------------------------------------------------------------ short echoes
def test_validation_errors_do_not_echo_long_input(client: Any) -> None:
    key = "k" * 1_000_000
    r = client.post("/api/v1/circular/recycle",
                    json={"chemistry": "NMC", "mass_kg": 1, "prices_usd_per_kg": {key: "x"}})
    assert r.status_code == 422 and len(r.content) < 4000, len(r.content)
