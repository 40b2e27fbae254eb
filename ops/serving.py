"""The site served for the scripts that drive it — ``make bench`` (bench/run.py), ``make soak`` (ops/soak.py)
and ``make faults`` (ops/faults.py): gunicorn started as ``make run`` starts it, on 127.0.0.1 only, ready once
``/healthz`` answers 200, stopped with its whole process group; and wrk over a file of URLs, a random one per
request, with a summary in JSON. Standard library only (the scripts run before anything is imported from the
project).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def answers(port: int, path: str = "/healthz") -> bool:
    """Whether the site on ``port`` answers ``path`` with 200 (not at all, or any other status: False)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False


def start_gunicorn(
    port: int, env: dict[str, str], *, workers: int = 3, ready_within: float = 60
) -> subprocess.Popen[bytes]:
    """gunicorn as ``make run`` starts it (``config.wsgi``, ``--limit-request-line 8190``), with warnings only in
    its log, on 127.0.0.1:``port``; returns once ``/healthz`` answers 200, else stops it and exits."""
    server = subprocess.Popen(
        [
            GUNICORN,
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--limit-request-line",
            "8190",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group, so that stop() can end its busy workers too
    )
    deadline = time.monotonic() + ready_within
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn on port {port} exited with {server.returncode} before answering /healthz")
        if answers(port):
            return server
        time.sleep(0.5)
    stop(server)
    raise SystemExit(f"gunicorn on port {port} did not answer /healthz within {ready_within:.0f} s")


def stop(process: subprocess.Popen[Any] | None, *, grace: float = 10) -> None:
    """SIGTERM, and after ``grace`` seconds SIGKILL to its process group: workers still busy with requests a
    load generator gave up on end too (only this server's, which start_gunicorn gave a group of its own)."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# wrk's script: a random URL of the file $WRK_URLS per request; at the end one line "WRK_JSON {...}".
WRK_LUA = r"""
local urls = {}
for line in io.lines(os.getenv("WRK_URLS")) do urls[#urls + 1] = line end
math.randomseed(os.time())
request = function() return wrk.format("GET", urls[math.random(#urls)]) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"seconds":%f,"p50_ms":%f,"p95_ms":%f,"p99_ms":%f,"max_ms":%f,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.connect, e.read, e.write, e.timeout, e.status))
end
"""


def start_wrk(
    port: int, url_file: Path, *, seconds: int, connections: int, timeout: int, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """wrk (2 threads) against 127.0.0.1:``port`` for ``seconds``, a random URL of ``url_file`` (one path a line)
    per request; a request unanswered after ``timeout`` seconds counts as an error. Read its end with summary()."""
    script = url_file.parent / "wrk_random_url.lua"
    script.write_text(WRK_LUA, encoding="utf-8")
    return subprocess.Popen(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            f"{timeout}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        env={**(env if env is not None else os.environ), "WRK_URLS": str(url_file)},
        stdout=subprocess.PIPE,
        text=True,
    )


def summary(load: subprocess.Popen[str]) -> dict[str, Any]:
    """What a finished (or finishing) wrk run measured: requests, seconds, p50/p95/p99/max in ms, and its errors —
    ``socket_errors`` (connect, read, write, timeout) and ``status_errors`` (answers with a status ≥ 400)."""
    out = load.communicate()[0]
    match = re.search(r"WRK_JSON (\{.*\})", out)
    if load.returncode != 0 or not match:
        raise SystemExit(f"wrk exited with {load.returncode} and gave no summary:\n{out}")
    raw: dict[str, Any] = json.loads(match.group(1))
    raw["socket_errors"] = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    raw["status_errors"] = raw["status"]
    return raw


def run_wrk(
    port: int, url_file: Path, *, seconds: int, connections: int, timeout: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """start_wrk() and wait for its summary()."""
    return summary(start_wrk(port, url_file, seconds=seconds, connections=connections, timeout=timeout, env=env))
