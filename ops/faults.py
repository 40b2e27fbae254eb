#!/usr/bin/env python3
"""``make faults``: stop the database and the shared cache under a running site, and check it copes.

Nothing that other work uses is touched. The site runs on a PostgreSQL cluster of its own (Debian's
``pg_createcluster``, ``15/faults`` on 127.0.0.1:5434, created once and left stopped), loaded from a backup of
``DATABASE_URL``'s database made with ``config/backup.sh`` (so the drill also restores a real backup), and on a
``redis-server`` of its own (127.0.0.1:6397, no persistence). gunicorn serves it as ``make run`` does on
127.0.0.1:8070. Then:

1. both up: pages and ``/healthz`` answer 200;
2. PostgreSQL stopped: pages, the API and ``/healthz`` answer 503 within 2 s, the page in the visitor's language,
   the API as JSON with CORS, ``/healthz`` saying ``"database": {"status": "unavailable"}``;
3. PostgreSQL started again: the same gunicorn serves pages again (no restart);
4. Redis stopped: pages still answer 200 (uncached), ``/healthz`` says ``"cache": "unavailable"``; started again.

Bounded: every request has a timeout, every wait a limit; the Makefile adds an overall ``timeout``.
Standard library only; exits 1 when a check fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a file (`make faults`): the repository's root on the path, for the serving module it shares with the
# benchmark and the soak (gunicorn as `make run` starts it).
sys.path.insert(0, str(ROOT))
from ops import serving  # noqa: E402

VERSION, CLUSTER = "15", "faults"
PG_PORT = int(os.environ.get("FAULTS_PG_PORT", "5434"))
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "6397"))
WEB_PORT = int(os.environ.get("FAULTS_PORT", "8070"))
DB = "wegweiser_faults"
SOURCE_URL = os.environ.get("DATABASE_URL", "postgis://postgres@127.0.0.1:5432/wegweiser")
SITE_URL = f"postgis://postgres@127.0.0.1:{PG_PORT}/{DB}"
LIMIT_SECONDS = 2.0
BASE = f"http://127.0.0.1:{WEB_PORT}"
SUDO = [] if os.geteuid() == 0 else ["sudo"]

failures: list[str] = []


def log(message: str) -> None:
    print(f"faults: {message}", flush=True)


def check(ok: bool, what: str) -> None:
    log(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def run(*cmd: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, text=True, capture_output=True).stdout


def cluster_status() -> str:
    """ "online", "down" or "" (no such cluster)."""
    for line in run("pg_lsclusters", "-h").splitlines():
        fields = line.split()
        if fields[:2] == [VERSION, CLUSTER]:
            return fields[3]
    return ""


def pg_ctl(action: str) -> None:
    subprocess.run(
        [
            *SUDO,
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            VERSION,
            CLUSTER,
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        capture_output=True,
    )


def wait_for(ready: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise SystemExit(f"faults: {what} not ready within {seconds:.0f} s")


def pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(PG_PORT)], check=False).returncode == 0


def prepare_cluster() -> None:
    if not cluster_status():
        log(f"creating PostgreSQL cluster {VERSION}/{CLUSTER} on 127.0.0.1:{PG_PORT}")
        subprocess.run(
            [*SUDO, "pg_createcluster", VERSION, CLUSTER, "--port", str(PG_PORT)],
            check=True,
            capture_output=True,
        )
        # Loopback only (written here: pg_createcluster -o passes quotes through unquoted).
        conf = Path(f"/etc/postgresql/{VERSION}/{CLUSTER}/postgresql.conf")
        conf.write_text(conf.read_text() + "listen_addresses = '127.0.0.1'\n")
        # The same access rules as the local primary (trust on loopback for postgres, config/provision.sh).
        main_hba = Path(f"/etc/postgresql/{VERSION}/main/pg_hba.conf")
        own_hba = Path(f"/etc/postgresql/{VERSION}/{CLUSTER}/pg_hba.conf")
        shutil.copyfile(main_hba, own_hba)
        shutil.chown(own_hba, "postgres", "postgres")
    if cluster_status() != "online":
        pg_ctl("start")
    wait_for(pg_ready, 30, "the faults cluster")


def load_site_database(workdir: Path) -> None:
    dump = workdir / "site.dump"
    started = time.monotonic()
    run("bash", "config/backup.sh", "backup", str(dump), env={**os.environ, "DATABASE_URL": SOURCE_URL})
    run("bash", "config/backup.sh", "restore", str(dump), DB, env={**os.environ, "DATABASE_URL": SITE_URL})
    log(
        f"site database restored from a backup of {SOURCE_URL.rsplit('/', 1)[-1]} in {time.monotonic() - started:.0f} s"
    )


def get(path: str, **headers: str) -> tuple[int, dict[str, str], bytes, float]:
    """Status, headers, body and seconds of one request (errors answered by the server included)."""
    request = urllib.request.Request(BASE + path, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read(), time.monotonic() - started


def fresh(path: str) -> str:
    """The path with a query no cache has seen: the answer must come from the database, not the page cache."""
    return f"{path}{'&' if '?' in path else '?'}q=drill-{uuid.uuid4().hex[:8]}"


def health() -> dict[str, Any]:
    status, _, body, _ = get("/healthz")
    answer: dict[str, Any] = json.loads(body)
    answer["http"] = status
    return answer


def drill() -> None:
    status, _, _, _ = get(fresh("/de/search/"))
    check(status == 200 and health()["http"] == 200, "both up: a search page and /healthz answer 200")

    log("stopping PostgreSQL (the faults cluster only)")
    pg_ctl("stop")
    for path, language, marker in (
        (fresh("/de/search/"), "de", "Kurz nicht erreichbar"),
        (fresh("/ar/search/"), "ar", "غير متاح مؤقتًا"),
        (fresh("/tr/responsible/?plz=45127"), "tr", "Kısa süreliğine erişilemiyor"),
    ):
        status, headers, body, seconds = get(path)
        check(
            status == 503 and seconds <= LIMIT_SECONDS and marker in body.decode() and "Retry-After" in headers,
            f"database stopped: {path.split('?')[0]} answers {status} in {seconds:.2f} s, in {language}, Retry-After",
        )
    status, _, _, seconds = get("/uk/privacy/")
    check(status == 200, f"database stopped: a page that needs no database (/uk/privacy/) still answers {status}")
    status, headers, body, seconds = get(fresh("/api/hsds/services"))
    check(
        status == 503
        and seconds <= LIMIT_SECONDS
        and headers.get("Access-Control-Allow-Origin") == "*"
        and "error" in json.loads(body),
        f"database stopped: the API answers {status} JSON with CORS in {seconds:.2f} s",
    )
    started = time.monotonic()
    state = health()
    seconds = time.monotonic() - started
    check(
        state["http"] == 503 and state["database"] == {"status": "unavailable"} and seconds <= LIMIT_SECONDS,
        f"database stopped: /healthz answers {state['http']} {json.dumps(state['database'])} in {seconds:.2f} s",
    )

    log("starting PostgreSQL again")
    pg_ctl("start")
    wait_for(pg_ready, 30, "PostgreSQL after the restart")
    started = time.monotonic()
    # Each of the workers finds its broken connection and replaces it: a few requests reach all of them.
    statuses = [get(fresh("/de/search/"))[0] for _ in range(8)]
    check(
        set(statuses) == {200} and health()["http"] == 200,
        f"database back: the same gunicorn serves again (8 pages: {sorted(set(statuses))}, "
        f"{time.monotonic() - started:.2f} s, no restart)",
    )


def redis_drill(redis: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    check(health().get("cache") == "ok", "redis up: /healthz says the cache is ok")
    log("stopping Redis (the drill's own redis-server)")
    redis.terminate()
    redis.wait(timeout=10)
    status, _, _, seconds = get(fresh("/de/search/"))
    state = health()
    check(
        status == 200 and state["http"] == 200 and state["cache"] == "unavailable",
        f"redis stopped: a page answers {status} in {seconds:.2f} s; /healthz {state['http']}, cache {state['cache']}",
    )
    redis = start_redis()
    # The cache backend leaves Redis alone for a few seconds after a failure (directory/cache.py).
    wait_for(lambda: health().get("cache") == "ok", 15, "the cache after Redis came back")
    check(True, "redis back: /healthz says the cache is ok again")
    return redis


def start_redis() -> subprocess.Popen[bytes]:
    redis = subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    ping = ["redis-cli", "-p", str(REDIS_PORT), "ping"]
    wait_for(lambda: subprocess.run(ping, capture_output=True, check=False).stdout.strip() == b"PONG", 10, "redis")
    return redis


def start_gunicorn() -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": SITE_URL,
        "DATABASE_REPLICA_URL": "",
        "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "DJANGO_DEBUG": "0",
    }
    return serving.start_gunicorn(WEB_PORT, env, workers=2)


def main() -> int:
    redis = server = None
    with tempfile.TemporaryDirectory() as workdir:
        try:
            prepare_cluster()
            load_site_database(Path(workdir))
            redis = start_redis()
            server = start_gunicorn()
            drill()
            redis = redis_drill(redis)
        finally:
            serving.stop(server)
            serving.stop(redis)
            if cluster_status() == "online":
                pg_ctl("stop")
    log("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
