"""schemathesis against the API's own description (/api/hsds/openapi.json, api/openapi.py), through the WSGI
app on the test database: requests generated from the description, valid and invalid, never answer 5xx and
never break the schema the description promises (issue 12, item 2).

A few examples per operation in ``make test``; ``make api-fuzz`` draws many (``API_FUZZ_EXAMPLES``), bounded
in time. The HSDS schemas the description references by their official URLs are read from vendor/hsds-3.0
instead, so no request leaves the machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.conf import settings
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.openapi import HSDS_SCHEMAS, openapi_document

HSDS = Path(settings.BASE_DIR) / "vendor" / "hsds-3.0" / "schema"
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", 4))
# `make test`: only generated requests (a few seconds). With API_FUZZ_EXAMPLES set (`make api-fuzz`) also
# schemathesis' explicit phases: the description's examples and its coverage cases (every boundary and every
# invalid value of every parameter, hundreds per operation), and shrinking to the smallest failing request.
DEEP = "API_FUZZ_EXAMPLES" in os.environ
PHASES = list(Phase) if DEEP else [Phase.generate]


def with_local_schemas(node: Any) -> Any:
    """``node`` with every reference to an official HSDS schema replaced by the vendored copy of it.

    And ``prefixItems`` (a GeoJSON position) as plain ``items``: schemathesis 4.32 turns it into the tuple form
    of ``items`` and then refuses that as an invalid OpenAPI 3.1 schema; the API's own tests check the bounds.
    """
    if isinstance(node, dict) and "prefixItems" in node:
        node = {**{k: v for k, v in node.items() if k != "prefixItems"}, "items": {"type": "number"}}
    if isinstance(node, dict):
        target = node.get("$ref", "")
        if isinstance(target, str) and target.startswith(HSDS_SCHEMAS):
            schema = json.loads((HSDS / target.removeprefix(HSDS_SCHEMAS)).read_text())
            schema.pop("$id", None)
            return with_local_schemas({**schema, **{k: v for k, v in node.items() if k != "$ref"}})
        return {key: with_local_schemas(value) for key, value in node.items()}
    if isinstance(node, list):
        return [with_local_schemas(item) for item in node]
    return node


def one_server(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every path under the site's root: schemathesis ignores a path's own ``servers``
    (the /api/geo/ endpoints have theirs)."""
    default = document["servers"][0]["url"]
    paths = {}
    for path, item in document["paths"].items():
        item = dict(item)
        server = item.pop("servers", [{"url": default}])[0]["url"]
        paths[server + path] = item
    return {**document, "servers": [{"url": "/"}], "paths": paths}


def load_schema() -> Any:
    loaded = schemathesis.openapi.from_dict(with_local_schemas(one_server(openapi_document())))
    loaded.app = get_wsgi_application()
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(db, settings):
    settings.HSDS_RATE_LIMIT_PER_MINUTE = 0  # the fuzzer is one client sending many requests
    # The WSGI handler closes the database connection after each request; the test's transaction lives on it
    # (django.test.Client disconnects the same receiver).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield load_schema()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    phases=PHASES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_own_description(case):
    # The geojson views gzip for clients that ask; this transport would not unpack it.
    response = case.call(headers={"Accept-Encoding": "identity"})
    assert response.status_code < 500, (case.path, case.query, response.status_code, response.text[:300])
    case.validate_response(
        response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
    )
