"""Shared test fixtures: ../shared paths, stores on SQLite and PostgreSQL, services, an HTTP client, pilot data."""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hypothesis import settings as _hypothesis_settings

# Property tests draw the same examples on every run (CI must not fail by chance); HYPOTHESIS_PROFILE=explore
# draws new ones each run and remembers failures in .hypothesis/ — for looking for bugs, not for CI.
_hypothesis_settings.register_profile("batteryloop", derandomize=True, database=None)
_hypothesis_settings.register_profile("explore", derandomize=False)
_hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "batteryloop"))

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("BATTERYLOOP_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder (official fixtures and real data sets)."""
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}; set BATTERYLOOP_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def fixtures_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures"


@pytest.fixture(scope="session")
def data_dir(shared_dir: Path) -> Path:
    return shared_dir / "data"


# ------------------------------------------------------------------------------------- stores
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Admin URL of a PostgreSQL server: BATTERYLOOP_TEST_POSTGRES_URL, or one started here on loopback.

    Skips when no server can be had, unless BATTERYLOOP_REQUIRE_POSTGRES=1 (as in CI), where it fails.
    """
    given = os.environ.get("BATTERYLOOP_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    from tests.pg import PostgresServer

    try:
        server = PostgresServer()
        url = server.start()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("BATTERYLOOP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here but could not start: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    os.environ["BATTERYLOOP_TEST_POSTGRES_URL"] = url
    try:
        yield url
    finally:
        server.stop()
        os.environ.pop("BATTERYLOOP_TEST_POSTGRES_URL", None)  # the server is gone; a later session starts its own


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> str:
    """A migrated template database; each test gets a copy (CREATE DATABASE … TEMPLATE)."""
    from sqlalchemy import create_engine, text

    from batteryloop.store.db import Store

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"bl_tmpl_{worker}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    store = Store(postgres_url.rsplit("/", 1)[0] + "/" + name)
    store.upgrade()
    store.dispose()
    admin.dispose()
    return name


def _new_pg_db(postgres_url: str, template: str) -> str:
    from sqlalchemy import create_engine, text

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"bl_{worker}_{os.getpid()}_{next(_counter)}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + "/" + name


def pg_pass() -> bool:
    """True in CI's second pass (make test-postgres), where every store-using test runs on PostgreSQL."""
    return os.environ.get("BATTERYLOOP_TEST_STORE") == "postgresql"


def database_url(tmp: Path, name: str = "cli") -> str:
    """The database a test's CLI or services use, named after ``tmp``: a SQLite file there, or in the
    PostgreSQL pass an (empty, created on first use) database of the test server — the CLI migrates it."""
    if not pg_pass():
        return f"sqlite:///{tmp}/{name}.db"
    import hashlib

    from sqlalchemy import create_engine, text

    admin_url = os.environ["BATTERYLOOP_TEST_POSTGRES_URL"]  # set by the _postgres_pass fixture
    db = "bl_t_" + hashlib.sha256(f"{tmp}/{name}".encode()).hexdigest()[:20]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": db}).first():
            c.execute(text(f'CREATE DATABASE "{db}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + db


@pytest.fixture(scope="session", autouse=True)
def _postgres_pass(request: pytest.FixtureRequest) -> None:
    """In the PostgreSQL pass, start the server before any test builds a database URL."""
    if pg_pass():
        request.getfixturevalue("postgres_url")


#: fixtures through which a test reaches a store; in the PostgreSQL pass only tests using one of them
#: (or marked ``any_store``) run, and tests parametrized over both backends are left to the first pass
STORE_FIXTURES = frozenset({"sqlite_store", "module_store", "store", "store_url", "pg_store", "services",
                            "pilot_services", "client"})


#: the test files that take longest (seconds of one full `make test`, summed over their tests' set-up and calls,
#: from its ``--durations`` list; only their order matters). `make test` hands files to its two workers longest
#: first: xdist's own order (most tests first) left these few-test files — browsers, Java, crash runs — to the
#: end, where one worker ran them one after another while the other had nothing left to do.
SLOW_FILES = {
    "tests/e2e/test_browser.py": 280, "tests/api/test_fuzz_openapi.py": 240, "tests/e2e/test_browser_trace.py": 218,
    "tests/interop/test_dsp_tck.py": 189, "tests/e2e/test_browser_pilot.py": 161, "tests/test_archive.py": 150,
    "tests/interop/test_edc_peer.py": 148, "tests/e2e/test_crash_demo.py": 134, "tests/security/test_attacks.py": 117,
    "tests/api/test_dtr_fuzz.py": 113, "tests/store/test_concurrency.py": 111,
    "tests/health/test_lifetime_grouped.py": 108, "tests/sim/test_pilot.py": 88, "tests/api/test_pilot_pages.py": 85,
    "tests/api/test_hubs_api.py": 78, "tests/e2e/test_crash_durability.py": 55, "tests/fleet/test_spark.py": 55,
    "tests/health/test_lifetime_calibration.py": 51, "tests/exchange/test_multiprocess.py": 50,
    "tests/e2e/test_import_crash.py": 48, "tests/e2e/test_browser_dashops.py": 47, "tests/test_hygiene.py": 34,
    "tests/e2e/test_browser_fleet.py": 33,
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the slowest files (:data:`SLOW_FILES`) handed out first, then the others as xdist
    orders them (most tests first): the run ends on small files that even the two workers out. Which tests run,
    and how each runs, is unchanged; other ``--dist`` modes are xdist's own."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SlowestFirst(LoadFileScheduling):
        def _assign_work_unit(self, node: Any) -> None:
            queue = getattr(self, "workqueue", None)  # xdist's own (3.x): an OrderedDict of files → tests
            if not getattr(self, "_ordered", False) and hasattr(queue, "move_to_end"):  # first call: nothing sent yet
                self._ordered = True
                rank = {scope: i for i, scope in enumerate(self.workqueue)}
                order = sorted(self.workqueue, key=lambda s: (-SLOW_FILES.get(s, 0), rank[s]))
                for scope in order:
                    self.workqueue.move_to_end(scope)
            super()._assign_work_unit(node)

    return SlowestFirst(config, log)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the ``summary`` a test recorded with ``record_property("summary", text)`` (the interop tests'
    TCK counts per module and EDC round trips): shown by `make test` too, whose xdist workers' output is not."""
    for status in ("passed", "failed"):
        for report in terminalreporter.stats.get(status, []):
            for key, value in getattr(report, "user_properties", []):
                if key == "summary" and getattr(report, "when", "call") == "call":
                    terminalreporter.write_line(str(value))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not pg_pass():
        return
    keep, drop = [], []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_both = any(params.get(k) in ("sqlite", "postgresql") for k in ("store", "store_url"))
        uses = bool(names & STORE_FIXTURES) or item.get_closest_marker("any_store") is not None
        (keep if uses and not on_both else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database URL on each backend (the test runs once per store)."""
    if request.param == "sqlite":
        from batteryloop.store.db import Store

        url = f"sqlite:///{tmp_path}/batteryloop.db"
        s = Store(url)
        s.upgrade()
        s.dispose()
        return url
    pg = request.getfixturevalue("postgres_url")
    tmpl = request.getfixturevalue("postgres_template")
    return _new_pg_db(pg, tmpl)


@pytest.fixture
def store(store_url: str) -> Iterator[Any]:
    from batteryloop.store.db import Store

    s = Store(store_url)
    yield s
    s.dispose()


def _either_store(request: pytest.FixtureRequest, folder: Path) -> Iterator[Any]:
    """A fresh, migrated store: SQLite in ``folder``, or a new PostgreSQL database (from the migrated template)
    in the PostgreSQL pass; disposed afterwards."""
    from batteryloop.store.db import Store

    if pg_pass():
        s = Store(_new_pg_db(request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_template")))
    else:
        s = Store(f"sqlite:///{folder}/batteryloop.db")
        s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh, migrated store for tests not about the backend: SQLite, or PostgreSQL when the suite runs
    with BATTERYLOOP_TEST_STORE=postgresql (CI runs the API tests a second time that way)."""
    yield from _either_store(request, tmp_path)


@pytest.fixture(scope="module")
def module_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """:func:`sqlite_store` shared by a whole module (a module that builds one node and gives each test its own
    ids and owners): SQLite, or PostgreSQL in the PostgreSQL pass."""
    yield from _either_store(request, tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))


# ------------------------------------------------------------------------------ the pilot
def seed_pilot(services: Any) -> dict[str, Any]:
    """Register the pilot's participants (with tokens) and battery models through the services."""
    from batteryloop.access import Caller
    from batteryloop.participants import Role
    from batteryloop.sim import pilot

    tokens = {}
    callers = {}
    for p in pilot.PARTICIPANTS:
        services.participants.create(p)
        tokens[p["id"]] = services.participants.issue_token(p["id"], "test")
        callers[p["id"]] = Caller(p["id"], frozenset(Role(r) for r in p["roles"]))
    for m in pilot.battery_models():
        services.passports.create_model(m, callers[pilot.AUTOMAKER])
    return {"tokens": tokens, "callers": callers}


_VAR_ROOT: Path | None = None


def _var_dir() -> Path:
    """A fresh folder for one node's keys and health files, under one root that is removed when the test
    process ends (no folder per test left in the system's temporary directory)."""
    global _VAR_ROOT
    if _VAR_ROOT is None or not _VAR_ROOT.exists():
        _VAR_ROOT = Path(tempfile.mkdtemp(prefix="batteryloop-test-var-"))
        atexit.register(shutil.rmtree, _VAR_ROOT, True)
    return Path(tempfile.mkdtemp(dir=_VAR_ROOT))


@pytest.fixture(scope="session", autouse=True)
def _remove_var_root() -> Iterator[None]:
    """Remove the var folders at the end of the session (pytest-xdist's workers end without running atexit)."""
    global _VAR_ROOT
    yield
    if _VAR_ROOT is not None:
        shutil.rmtree(_VAR_ROOT, ignore_errors=True)
        _VAR_ROOT = None  # a runner that calls pytest.main again in this process (mutmut) starts a new root


def make_services(store: Any) -> Any:
    from batteryloop.services import build_services
    from batteryloop.config import Settings

    settings = Settings(database_url=store.url, public_base_url="http://testserver", issuing_agency_code="BL",
                        admin_token="admin-secret-token", rate_limit_per_minute=0, var_dir=_var_dir())
    return build_services(settings, store, migrate=False)


@contextmanager
def served(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Any]:
    """An HTTP client on a fresh, empty SQLite node in its own temporary folder; ``client.services`` are
    its services (a module-scoped world for tests that build their own participants)."""
    from fastapi.testclient import TestClient

    from batteryloop.server import create_app
    from batteryloop.store.db import Store

    store = Store(f"sqlite:///{tmp_path_factory.mktemp(name)}/{name}.db")
    store.upgrade()
    svc = make_services(store)
    try:
        with TestClient(create_app(services=svc)) as c:
            c.services = svc  # type: ignore[attr-defined]
            yield c
    finally:
        store.dispose()


@pytest.fixture
def services(store: Any) -> Any:
    return make_services(store)


@pytest.fixture
def pilot_services(services: Any) -> Any:
    services.pilot = seed_pilot(services)
    return services


@pytest.fixture
def client(sqlite_store: Any) -> Iterator[Any]:
    """An HTTP client (httpx through the ASGI app) on a seeded SQLite pilot; ``client.tokens`` per participant."""
    from fastapi.testclient import TestClient

    from batteryloop.server import create_app

    svc = make_services(sqlite_store)
    pilot_data = seed_pilot(svc)
    app = create_app(services=svc)
    with TestClient(app) as c:
        c.tokens = pilot_data["tokens"]  # type: ignore[attr-defined]
        c.services = svc  # type: ignore[attr-defined]
        yield c
