#!/usr/bin/env python3
"""Contract test (a): the sandbox's answers against the API's published
contract (session_api_contract.json, session_api_schemas.json).

Usage: sandbox_contract_test.py --sandbox=PATH/session-sandbox

Starts the sandbox on 127.0.0.1 (any free port) and calls both routes with
a normal id, with every declared error status (the trigger
`sandbox-fail-<status>` on the definition route), with out-of-range
triggers, and with an id the payment-service route cannot accept. Each
check is a test of its own, so one run lists every way the sandbox departs
from the contract.
"""

import argparse
import http.client
import json
import sys
import unittest
import urllib.parse

import contract_lib

CONTRACT = contract_lib.load_contract()
SCHEMAS = contract_lib.Schemas()
OPS = CONTRACT["operations"]
PS = OPS["create_payment_service_session"]
PSD = OPS["create_payment_service_definition_session"]
SANDBOX_PATH = None

# Fields every error body of the real API carries (the document gives each
# a default and lists none as required, so a schema check alone would pass
# `{}`; we hold the sandbox to the full shape).
ERROR_FIELDS = ["type", "code", "status", "message"]

# Triggers outside what the sandbox can rehearse: it must refuse them as a
# bad request rather than answer as if they were ordinary ids.
OUT_OF_RANGE_TRIGGERS = ["sandbox-fail-399", "sandbox-fail-600", "sandbox-slow-99999999999ms"]


def concrete_path(op, value):
    (name,) = op["path_parameters"]
    return op["path_template"].replace("{" + name + "}", urllib.parse.quote(value, safe=""))


class SandboxContract(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.sandbox = contract_lib.Process([SANDBOX_PATH, "--listen=127.0.0.1:0", "--threads=4"], "sandbox")
        host, port = cls.sandbox.address.rsplit(":", 1)
        cls.host, cls.port = host, int(port)
        cls.answers = {}

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.stop()

    @classmethod
    def call(cls, op, value, body=None, headers=None):
        """POSTs to `op`'s route with path parameter `value`; answers are
        cached so that each answer is fetched once and checked by several
        tests."""
        key = (op["path_template"], value)
        if key not in cls.answers:
            payload = json.dumps(body if body is not None else {"amount": 1299, "currency": "USD"})
            h = {"Content-Type": "application/json", "Accept": "application/json"}
            h.update(headers or {})
            conn = http.client.HTTPConnection(cls.host, cls.port, timeout=15)
            try:
                conn.request(op["method"], concrete_path(op, value), body=payload, headers=h)
                res = conn.getresponse()
                raw = res.read()
                cls.answers[key] = (res.status, res.getheader("Content-Type", ""), raw)
            finally:
                conn.close()
        return cls.answers[key]

    def parsed(self, raw):
        try:
            return json.loads(raw)
        except ValueError as e:
            self.fail(f"body is not JSON ({e}): {raw[:300]!r}")

    def assert_valid(self, schema, body):
        errors = SCHEMAS.errors(schema, body)
        self.assertEqual(errors, [], f"body is not a valid {schema}: {json.dumps(body)[:600]}")

    def assert_json_content_type(self, content_type):
        self.assertTrue(content_type.lower().startswith("application/json"),
                        f"Content-Type {content_type!r}; the document declares application/json")


def add_test(name, fn):
    assert not hasattr(SandboxContract, name), name
    setattr(SandboxContract, name, fn)


# --- success: both routes with a normal id --------------------------------
def success_tests(op_id, op, value, headers):
    success = op["success"]

    def status(self):
        st, _, raw = self.call(op, value, headers=headers)
        self.assertEqual(st, success["status"],
                         f"{op['method']} {concrete_path(op, value)}: documented success status is "
                         f"{success['status']}; body {raw[:200]!r}")

    def body(self):
        st, ct, raw = self.call(op, value, headers=headers)
        self.assertTrue(200 <= st < 300, f"not a success at all: HTTP {st} {raw[:200]!r}")
        self.assert_json_content_type(ct)
        self.assert_valid(success["schema"], self.parsed(raw))

    add_test(f"test_{op_id}_success_status_is_{success['status']}", status)
    add_test(f"test_{op_id}_success_body_is_{success['schema']}", body)


success_tests("create_payment_service_session", PS,
              PS["path_parameters"]["payment_service_id"]["example"],
              {"x-gr4vy-merchant-account-id": "default"})
success_tests("create_payment_service_definition_session", PSD,
              PSD["path_parameters"]["payment_service_definition_id"]["example"], {})


# --- every declared error status, rehearsed on the definition route -------
def error_tests(status, schema):
    trigger = f"sandbox-fail-{status}"

    def status_test(self):
        st, _, raw = self.call(PSD, trigger)
        self.assertEqual(st, status, f"trigger {trigger}: body {raw[:200]!r}")

    def body_test(self):
        _, ct, raw = self.call(PSD, trigger)
        self.assert_json_content_type(ct)
        body = self.parsed(raw)
        self.assert_valid(schema, body)
        if schema == "HTTPValidationError":
            self.assertTrue(body.get("detail"), "a validation error names at least one failure in detail")
        else:
            missing = [f for f in ERROR_FIELDS if f not in body]
            self.assertEqual(missing, [], f"error body lacks {missing}: {body}")

    add_test(f"test_error_{status}_status", status_test)
    add_test(f"test_error_{status}_body_is_{schema}", body_test)


for status_text, schema_name in sorted(PSD["errors"].items()):
    error_tests(int(status_text), schema_name)


# --- triggers the sandbox cannot rehearse: 400 ---------------------------
def out_of_range_tests(trigger):
    schema = PSD["errors"]["400"]
    slug = trigger.replace("-", "_")

    def status_test(self):
        st, _, raw = self.call(PSD, trigger)
        self.assertEqual(st, 400, f"trigger {trigger} is out of range; body {raw[:200]!r}")

    def body_test(self):
        st, ct, raw = self.call(PSD, trigger)
        self.assertEqual(st, 400, "not a 400, so not an Error400 either")
        self.assert_json_content_type(ct)
        body = self.parsed(raw)
        self.assert_valid(schema, body)
        self.assertEqual([f for f in ERROR_FIELDS if f not in body], [], f"{body}")

    add_test(f"test_out_of_range_{slug}_status_400", status_test)
    add_test(f"test_out_of_range_{slug}_body_is_{schema}", body_test)


for t in OUT_OF_RANGE_TRIGGERS:
    out_of_range_tests(t)


# --- an id the payment-service route cannot take -------------------------
def test_invalid_uuid_is_a_documented_error(self):
    value = "not-a-uuid"
    rule = PS["path_parameters"]["payment_service_id"]
    self.assertNotEqual(contract_lib.parameter_problems("payment_service_id", value, rule), [],
                        "test value must break the parameter's rule")
    st, ct, raw = self.call(PS, value)
    self.assertIn(str(st), PS["errors"], f"HTTP {st} is not a declared error status of "
                  f"create_payment_service_session ({sorted(PS['errors'])})")
    self.assert_json_content_type(ct)
    body = self.parsed(raw)
    self.assert_valid(PS["errors"][str(st)], body)


add_test("test_create_payment_service_session_invalid_uuid_is_a_documented_error",
         test_invalid_uuid_is_a_documented_error)


# --- error details point at something the operation declares -------------
def test_error_details_point_at_declared_parameters(self):
    """A detail located in the path or a header names, as its pointer, a
    parameter the operation declares there (ErrorDetail: location + JSON
    pointer to the property that caused the error)."""
    cases = [(PSD, f"sandbox-fail-{s}") for s, schema in sorted(PSD["errors"].items())
             if schema != "HTTPValidationError"]
    cases.append((PS, "not-a-uuid"))
    problems = []
    for op, value in cases:
        st, _, raw = self.call(op, value)
        try:
            body = json.loads(raw)
        except ValueError:
            continue  # reported by the body tests
        if not isinstance(body, dict) or not isinstance(body.get("details"), list):
            continue
        declared = {
            "path": {"/" + n for n in op["path_parameters"]},
            "header": {"/" + h["name"] for h in op["header_parameters"]},
        }
        for d in body["details"]:
            if isinstance(d, dict) and d.get("location") in declared:
                if d.get("pointer") not in declared[d["location"]]:
                    problems.append(f"{value} (HTTP {st}): {d.get('location')} pointer {d.get('pointer')!r} "
                                    f"is not one of {sorted(declared[d['location']])}")
    self.assertEqual(problems, [])


add_test("test_error_details_point_at_declared_parameters", test_error_details_point_at_declared_parameters)


def main():
    global SANDBOX_PATH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", required=True, help="path of session-sandbox")
    args, rest = parser.parse_known_args()
    SANDBOX_PATH = args.sandbox
    contract_lib.arm_wall_clock_limit()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()
