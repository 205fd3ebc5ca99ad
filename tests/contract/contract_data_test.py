#!/usr/bin/env python3
"""Contract data self-check: session_api_schemas.json is a valid JSON Schema
(draft 2020-12), every schema name the contract uses exists, the per-status
error schemas agree with the contract's error codes, and the schemas accept
the document's own examples and reject what they must.

Needs no binary: it guards the test data the other contract tests trust.
"""

import sys
import unittest

import contract_lib

CONTRACT = contract_lib.load_contract()
SCHEMAS = contract_lib.Schemas()  # checks the file against the 2020-12 metaschema


class ContractData(unittest.TestCase):
    def test_every_named_schema_exists(self):
        names = set(SCHEMAS.names())
        for op_id, op in CONTRACT["operations"].items():
            used = {op["success"]["schema"], op["request_body"]["schema"], *op["errors"].values()}
            self.assertEqual(sorted(used - names), [], op_id)

    def test_path_templates_declare_their_parameters(self):
        for op_id, op in CONTRACT["operations"].items():
            rx = contract_lib.path_regex(op["path_template"], op["path_parameters"])
            self.assertEqual(sorted(rx.groupindex), sorted(op["path_parameters"]), op_id)
            for name, rule in op["path_parameters"].items():
                self.assertEqual(contract_lib.parameter_problems(name, rule["example"], rule), [],
                                 f"{op_id}: the document's example must satisfy its own rule")

    def test_error_schemas_pin_code_and_status(self):
        for status, code in CONTRACT["error_codes"].items():
            props = SCHEMAS.doc["$defs"][f"Error{status}"]["properties"]
            self.assertEqual(props["code"], {"const": code})
            self.assertEqual(props["status"], {"const": int(status)})
            self.assertEqual(props["type"], {"const": "error"})
        for op in CONTRACT["operations"].values():
            for status, schema in op["errors"].items():
                if status != "422":
                    self.assertEqual(schema, f"Error{status}")
                    self.assertIn(status, CONTRACT["error_codes"])
            self.assertEqual(op["errors"].get("422"), "HTTPValidationError")

    def test_create_session_examples(self):
        ok = [
            {"type": "payment-service-session", "status": "succeeded", "code": None, "status_code": 201,
             "response_body": {"sessionId": "12345"}},
            {"status": "failed", "code": "UNKNOWN_ERROR", "status_code": 502, "response_body": None},
        ]
        bad = [
            {},  # status is required
            {"status": "pending"},
            {"status": "succeeded", "type": "session"},
            {"status": "succeeded", "status_code": "201"},
            {"status": "succeeded", "extra": 1},  # additionalProperties false
            {"status": "succeeded", "response_body": []},
        ]
        for body in ok:
            self.assertEqual(SCHEMAS.errors("CreateSession", body), [], body)
        for body in bad:
            self.assertNotEqual(SCHEMAS.errors("CreateSession", body), [], body)

    def test_error_examples(self):
        detail = {"location": "body", "pointer": "/currency", "message": "Unknown ISO 4217 currency code: USX",
                  "type": "value_error"}
        good = {"type": "error", "code": "bad_request", "status": 400, "message": "Request failed validation",
                "details": [detail]}
        self.assertEqual(SCHEMAS.errors("Error400", good), [])
        self.assertNotEqual(SCHEMAS.errors("Error404", good), [], "a 400 body is not a 404 body")
        self.assertNotEqual(SCHEMAS.errors("Error400", dict(good, code="error")), [])
        self.assertNotEqual(SCHEMAS.errors("Error400", dict(good, details=[dict(detail, location="cookie")])), [])
        self.assertNotEqual(SCHEMAS.errors("Error400", dict(good, details=[{"location": "body"}])), [])
        self.assertNotEqual(SCHEMAS.errors("Error400", dict(good, resource_id=None)), [])
        self.assertEqual(SCHEMAS.errors("Error409", dict(good, code="duplicate_record", status=409,
                                                         resource_id="cdc70639-cb9c-4222-a73f-b8ce39f7821b")), [])

    def test_validation_error_examples(self):
        self.assertEqual(SCHEMAS.errors("HTTPValidationError",
                                        {"detail": [{"loc": ["body", "amount", 0], "msg": "bad", "type": "value_error",
                                                     "input": None, "ctx": {}}]}), [])
        self.assertNotEqual(SCHEMAS.errors("HTTPValidationError", {"detail": [{"loc": ["body"], "msg": "bad"}]}), [])
        self.assertNotEqual(SCHEMAS.errors("HTTPValidationError", {"detail": [{"loc": [1.5], "msg": "m", "type": "t"}]}),
                            [])

    def test_request_body_is_an_object(self):
        self.assertEqual(SCHEMAS.errors("RequestBody", {}), [])
        self.assertEqual(SCHEMAS.errors("RequestBody", {"any": [1, {"thing": None}]}), [])
        for bad in ([], "x", None, 1):
            self.assertNotEqual(SCHEMAS.errors("RequestBody", bad), [], bad)

    def test_required_scopes(self):
        for op_id, op in CONTRACT["operations"].items():
            self.assertEqual(op["security"]["scopes"], ["transactions.write"], op_id)


if __name__ == "__main__":
    contract_lib.arm_wall_clock_limit()
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[1:])
