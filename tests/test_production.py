"""Production settings come from the environment: with the README's "Production environment" block,
`check --deploy` is clean; without a key of its own and without debug, the site does not start."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def production_environment() -> dict[str, str]:
    """The variables of the README's "Production environment" block, with a real key for the placeholder."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production environment", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README shows the production environment as a sh block"
    variables = dict(shlex.split(line)[0].split("=", 1) for line in block.group(1).splitlines() if line.strip())
    assert variables["DJANGO_SECRET_KEY"].startswith("<"), "a placeholder, not a key"
    variables["DJANGO_SECRET_KEY"] = "x7Qp2vLr9Tz4Wm8Ks1Yd6Hf3Jc0Nb5Ga-e_UiOoPaSdFgHjKlZxCvBnM1234"
    return variables


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The inherited environment minus anything that would change the answer (a key, debug, a test's own settings).
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WEGWEISER_"))}
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_is_clean_with_the_documented_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_without_debug_the_site_refuses_to_start_without_its_own_key(tmp_path):
    result = manage("check", env={"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY_FILE": str(tmp_path / "none")})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY is not set" in result.stderr

    key_file = tmp_path / "secret"
    key_file.write_text("a-key-of-its-own-made-by-make-" + "k" * 30)
    assert manage("check", env={"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY_FILE": str(key_file)}).returncode == 0
    debug = manage("check", env={"DJANGO_DEBUG": "1", "DJANGO_SECRET_KEY_FILE": str(tmp_path / "none")})
    assert debug.returncode == 0, "a development machine runs with debug on and the development key"


def test_a_malformed_proxy_setting_is_refused_with_a_clear_message(tmp_path):
    result = manage("check", env={"DJANGO_DEBUG": "1", "WEGWEISER_TRUSTED_PROXIES": "10.0.0.0/8,not-an-address"})
    assert result.returncode != 0 and "WEGWEISER_TRUSTED_PROXIES must list addresses or CIDRs" in result.stderr
