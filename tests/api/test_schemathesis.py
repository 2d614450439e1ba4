"""Property-based API test: schemathesis generates requests from the served OpenAPI document
(valid and invalid ones) and checks that none ends in a server error. Bounded per operation.

Why not `schemathesis.pytest.from_fixture`: with pytest 9 it fails at collection (a private
pytest attribute it relies on is gone), so the operations are driven through Hypothesis here.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install schemathesis)")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

MAX_EXAMPLES = 20


def test_no_server_errors(served):
    schema = schemathesis.openapi.from_asgi("/openapi.json", served.app)
    headers = {"Authorization": f"Bearer {served.keys.admin}"}
    ran = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # forget rewrites the warehouse's Parquet files on every call: fewer examples there
        examples = 8 if operation.method.upper() == "DELETE" else MAX_EXAMPLES
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case):
                if case.method == "DELETE":  # never forget the fixture's real users
                    case.path_parameters = {"user_id": "schemathesis-" + str((case.path_parameters or {}).get("user_id"))[:40]}
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            try:
                run()
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                continue  # nothing to make invalid (e.g. GET /healthz has no parameters)
            ran.append(f"{operation.label} [{mode.value}]")
    assert len(ran) >= 8 + 5, ran
