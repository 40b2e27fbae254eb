"""make backup / make restore (config/backup.sh): a round trip keeps every row and id (issue 12.7).

A small database of its own, with PostGIS and the shape of a catalogue table, so the test stays fast; ``make
faults`` restores the whole site's database the same way into a server of its own.
"""

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SERVER = "postgresql://{USER}@{HOST}:{PORT}".format(**settings.DATABASES["default"])
# Beside the test database, named after it (each checkout's test run has its own).
_NAME = settings.DATABASES["default"]["NAME"].removeprefix("test_")
SOURCE, TARGET = f"test_{_NAME}_backup_source", f"test_{_NAME}_backup_target"


def psql(database: str, sql: str) -> str:
    return subprocess.run(
        ["psql", f"{SERVER}/{database}", "-v", "ON_ERROR_STOP=1", "-Atqc", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def backup_sh(*args: str, database: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"postgis://{SERVER.split('://', 1)[1]}/{database}"}
    return subprocess.run(["bash", "config/backup.sh", *args], cwd=ROOT, env=env, capture_output=True, text=True)


@pytest.fixture
def small_database():
    """The source database, made once and kept beside the test database (dropping and creating databases costs
    more than the round trip itself); its rows are written afresh each time."""
    if not psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{SOURCE}'"):  # noqa: S608 - our own name
        psql("postgres", f"CREATE DATABASE {SOURCE}")
    psql(
        SOURCE,
        "CREATE EXTENSION IF NOT EXISTS postgis;"
        "CREATE TABLE IF NOT EXISTS directory_service (id uuid PRIMARY KEY, name jsonb NOT NULL,"
        " point geometry(Point, 4326), CONSTRAINT named CHECK (name <> '{}'::jsonb));"
        "CREATE INDEX IF NOT EXISTS service_point ON directory_service USING gist (point);"
        "TRUNCATE directory_service;"
        "INSERT INTO directory_service SELECT md5(i::text)::uuid, jsonb_build_object('de', 'Beratung ' || i,"
        " 'ar', 'استشارة ' || i), ST_SetSRID(ST_MakePoint(6 + i / 100.0, 51 + i / 100.0), 4326)"
        " FROM generate_series(1, 200) i",
    )


def rows(database: str) -> str:
    return psql(database, "SELECT id, name, ST_AsText(point) FROM directory_service ORDER BY id")


def test_a_backup_restores_into_another_database_with_every_row(small_database, tmp_path):
    dump = tmp_path / "site.dump"
    made = backup_sh("backup", str(dump), database=SOURCE)
    assert made.returncode == 0, made.stderr
    assert dump.read_bytes().startswith(b"PGDMP"), "pg_dump's custom format"
    # Into a database that may not exist yet (the first run creates it) or holds an older copy.
    restored = backup_sh("restore", str(dump), TARGET, database=SOURCE)
    assert restored.returncode == 0, restored.stderr
    assert psql(TARGET, "SELECT count(*) FROM directory_service") == "200"
    assert rows(TARGET) == rows(SOURCE)
    # Again over the restored copy, after a change there: --clean puts it back as it was in the backup.
    psql(TARGET, "DELETE FROM directory_service WHERE name->>'de' LIKE 'Beratung 1%'")
    again = backup_sh("restore", str(dump), TARGET, database=SOURCE)
    assert again.returncode == 0, again.stderr
    assert rows(TARGET) == rows(SOURCE)
    assert psql(TARGET, "SELECT indexname FROM pg_indexes WHERE indexname = 'service_point'") == "service_point"


def test_a_restore_names_what_is_wrong(tmp_path):
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello")
    assert "RESTORE_DB" in backup_sh("restore", str(not_a_dump), database="x").stderr
    assert "not a pg_dump" in backup_sh("restore", str(not_a_dump), "somewhere", database="x").stderr
    assert "plain database name" in backup_sh("restore", str(not_a_dump), "a;b", database="x").stderr
