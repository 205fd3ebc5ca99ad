#!/usr/bin/env python3
"""Contract test (b): the gateway's outgoing requests against the API's
published contract (session_api_contract.json, session_api_schemas.json).

Usage: gateway_contract_test.py --gateway=PATH/session-gateway --buf=PATH/buf

Runs a recording HTTP server on 127.0.0.1 as the gateway's --upstream (it
answers 200 with a valid CreateSession), signs with a P-521 key made at test
time with openssl, calls each RPC with `buf curl` (gRPC through server
reflection) and checks what the upstream received: method, path, headers,
body and the bearer JWT (header, ES512 signature, claims, scopes).
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

import contract_lib

CONTRACT = contract_lib.load_contract()
SCHEMAS = contract_lib.Schemas()
OPS = CONTRACT["operations"]
JWT_FACTS = CONTRACT["jwt"]
TRANSPORT_HEADERS = set(CONTRACT["transport_request_headers"]["names"])
GATEWAY_PATH = None
BUF_PATH = None

# The merchant account the gateway is started with (--merchant_account_id)
# and the one a request names explicitly.
DEFAULT_MERCHANT = "default"
REQUEST_MERCHANT = "merchant-a"
BODY = {"amount": 1299, "currency": "USD", "nested": {"list": [1, "two", None, True]}}

# The canned upstream answer: a valid CreateSession, checked below.
CANNED_SESSION = {"type": "payment-service-session", "status": "succeeded", "status_code": 201,
                  "response_body": {"sessionId": "contract-12345"}}

# One gRPC call per case: (case name, operation id, RPC request, body the
# upstream must receive, merchant header the upstream may receive).
PS_ID = OPS["create_payment_service_session"]["path_parameters"]["payment_service_id"]["example"]
PSD_ID = OPS["create_payment_service_definition_session"]["path_parameters"]["payment_service_definition_id"]["example"]
CASES = [
    ("ps_with_body_and_merchant", "create_payment_service_session",
     {"payment_service_id": PS_ID, "request_body": BODY, "merchant_account_id": REQUEST_MERCHANT},
     BODY, REQUEST_MERCHANT),
    ("ps_no_body", "create_payment_service_session",
     {"payment_service_id": PS_ID}, {}, DEFAULT_MERCHANT),
    ("psd_with_body", "create_payment_service_definition_session",
     {"payment_service_definition_id": PSD_ID, "request_body": BODY}, BODY, None),
    ("psd_no_body", "create_payment_service_definition_session",
     {"payment_service_definition_id": PSD_ID}, {}, None),
]

# How far the JWT's times may be from this machine's clock (same machine).
CLOCK_SLACK_S = 120


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwk_thumbprint(public_key):
    """RFC 7638 thumbprint of an EC P-521 public key, coordinates as 66-byte
    big-endian octet strings (RFC 7518 section 6.2.1.2)."""
    n = public_key.public_numbers()
    jwk = '{"crv":"P-521","kty":"EC","x":"%s","y":"%s"}' % (
        b64url_encode(n.x.to_bytes(66, "big")), b64url_encode(n.y.to_bytes(66, "big")))
    return b64url_encode(hashlib.sha256(jwk.encode()).digest())


class Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RecordingHandler)
        self.lock = threading.Lock()
        self.requests = []

    def take(self):
        with self.lock:
            out, self.requests = self.requests, []
        return out


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _record_and_answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.server.lock:
            self.server.requests.append({
                "method": self.command,
                "target": self.path,
                "headers": [(k.lower(), v) for k, v in self.headers.items()],
                "body": body,
                "time": time.time(),
            })
        payload = json.dumps(CANNED_SESSION).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _record_and_answer

    def log_message(self, *args):
        pass


class GatewayContract(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        assert SCHEMAS.errors("CreateSession", CANNED_SESSION) == [], "canned answer must be valid"
        cls.tmp = tempfile.TemporaryDirectory(prefix="contract-gateway-")
        cls.key_file = os.path.join(cls.tmp.name, "private_key.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521",
                        "-out", cls.key_file], check=True, timeout=30, capture_output=True)
        with open(cls.key_file, "rb") as f:
            cls.public_key = serialization.load_pem_private_key(f.read(), password=None).public_key()

        cls.recorder = Recorder()
        cls.recorder_thread = threading.Thread(target=cls.recorder.serve_forever, daemon=True)
        cls.recorder_thread.start()
        upstream = f"http://127.0.0.1:{cls.recorder.server_address[1]}"
        cls.gateway = None
        try:
            cls.gateway = contract_lib.Process(
                [GATEWAY_PATH, "--listen=127.0.0.1:0", f"--upstream={upstream}",
                 f"--private_key_file={cls.key_file}", f"--merchant_account_id={DEFAULT_MERCHANT}",
                 "--upstream_timeout=20s"], "gateway")
            cls.calls = {}
            for name, op_id, request, _, _ in CASES:
                cls.calls[name] = cls.call(OPS[op_id], request)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.gateway is not None:
            cls.gateway.stop()
        cls.recorder.shutdown()
        cls.recorder.server_close()
        cls.tmp.cleanup()

    @classmethod
    def call(cls, op, request):
        """One RPC through buf curl; returns (exit status, stdout, stderr,
        the upstream requests it caused)."""
        cls.recorder.take()
        url = f"http://{cls.gateway.address}/{op['our_grpc_method']}"
        env = dict(os.environ, HOME=cls.tmp.name, XDG_CACHE_HOME=os.path.join(cls.tmp.name, "cache"))
        r = subprocess.run([BUF_PATH, "curl", "--http2-prior-knowledge", "--protocol", "grpc",
                            "-d", json.dumps(request), url],
                           capture_output=True, text=True, timeout=40, env=env)
        return r.returncode, r.stdout, r.stderr, cls.recorder.take()

    # --- helpers --------------------------------------------------------
    def one_request(self, case):
        code, out, err, reqs = self.calls[case]
        self.assertEqual(len(reqs), 1, f"{case}: the RPC must cause exactly one upstream request "
                         f"(buf curl exit {code}; stdout {out[:300]!r}; stderr {err[:300]!r})")
        return reqs[0]

    @staticmethod
    def header_values(req, name):
        return [v for k, v in req["headers"] if k == name]

    def jwt_parts(self, req):
        auth = self.header_values(req, "authorization")
        self.assertEqual(len(auth), 1, "exactly one Authorization header")
        m = re.fullmatch(r"Bearer ([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)", auth[0])
        self.assertIsNotNone(m, "Authorization is `Bearer <compact JWS>`")
        header = json.loads(b64url_decode(m.group(1)))
        claims = json.loads(b64url_decode(m.group(2)))
        signature = b64url_decode(m.group(3))
        signing_input = f"{m.group(1)}.{m.group(2)}".encode()
        return header, claims, signature, signing_input


def add_test(name, fn):
    assert not hasattr(GatewayContract, name), name
    setattr(GatewayContract, name, fn)


def case_tests(case, op_id, request, expected_body, expected_merchant):
    op = OPS[op_id]
    (param,) = op["path_parameters"]
    rule = op["path_parameters"][param]
    declared_headers = {h["name"].lower() for h in op["header_parameters"]}
    prefix = f"test_{case}"

    def rpc_succeeds(self):
        code, out, err, _ = self.calls[case]
        self.assertEqual(code, 0, f"{op['our_grpc_method']} failed: stdout {out[:300]!r} stderr {err[:500]!r}")

    def method(self):
        self.assertEqual(self.one_request(case)["method"], op["method"])

    def path(self):
        req = self.one_request(case)
        target = urllib.parse.urlsplit(req["target"])
        self.assertEqual(target.query, "", f"{op_id} declares no query parameters; got {req['target']!r}")
        m = contract_lib.path_regex(op["path_template"], op["path_parameters"]).match(target.path)
        self.assertIsNotNone(m, f"{target.path!r} does not match {op['path_template']}")
        value = urllib.parse.unquote(m.group(param))
        self.assertEqual(contract_lib.parameter_problems(param, value, rule), [])
        self.assertEqual(value, request[param], f"{param} must be the value the caller gave")

    def only_declared_headers(self):
        req = self.one_request(case)
        undeclared = sorted({k for k, _ in req["headers"]} - TRANSPORT_HEADERS - declared_headers)
        self.assertEqual(undeclared, [],
                         f"{op_id} declares header parameters {sorted(declared_headers) or 'none'}; "
                         f"the request also carried {undeclared}")

    def content_type(self):
        req = self.one_request(case)
        ct = self.header_values(req, "content-type")
        self.assertEqual(len(ct), 1, "exactly one Content-Type")
        self.assertEqual(ct[0].split(";")[0].strip().lower(), op["request_body"]["media_type"])
        for accept in self.header_values(req, "accept"):
            self.assertRegex(accept, r"(^|[,\s])(application/json|application/\*|\*/\*)",
                             "Accept must admit application/json, the media type of every response")

    def merchant_header(self):
        req = self.one_request(case)
        values = self.header_values(req, "x-gr4vy-merchant-account-id")
        if "x-gr4vy-merchant-account-id" not in declared_headers:
            self.assertEqual(values, [], f"{op_id} does not declare x-gr4vy-merchant-account-id")
        else:
            self.assertEqual(values, [expected_merchant],
                             "the declared merchant header carries the request's (else the default) account")

    def body(self):
        req = self.one_request(case)
        try:
            sent = json.loads(req["body"])
        except ValueError:
            self.fail(f"request body is not JSON: {req['body'][:200]!r}")
        self.assertEqual(SCHEMAS.errors(op["request_body"]["schema"], sent), [],
                         "request body must be a JSON object (requestBody is required)")
        self.assertEqual(sent, expected_body, "request body is the RPC's request_body ({} when absent)")

    def jwt_header(self):
        header, _, _, _ = self.jwt_parts(self.one_request(case))
        self.assertEqual(header.get("alg"), JWT_FACTS["header"]["alg"])
        self.assertEqual(header.get("typ"), JWT_FACTS["header"]["typ"])
        self.assertEqual(header.get("kid"), jwk_thumbprint(self.public_key),
                         "kid is the RFC 7638 thumbprint of the signing key")

    def jwt_signature(self):
        _, _, signature, signing_input = self.jwt_parts(self.one_request(case))
        self.assertEqual(len(signature), 132, "an ES512 signature is R||S, 66 bytes each")
        r = int.from_bytes(signature[:66], "big")
        s = int.from_bytes(signature[66:], "big")
        try:
            self.public_key.verify(utils.encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA512()))
        except InvalidSignature:
            self.fail("the JWT's ES512 signature does not verify with the configured key")

    def jwt_scopes(self):
        _, claims, _, _ = self.jwt_parts(self.one_request(case))
        scopes = claims.get("scopes")
        self.assertIsInstance(scopes, list, "scopes is an array")
        self.assertEqual(sorted(scopes), sorted(op["security"]["scopes"]),
                         f"the token must carry exactly the scopes {op_id} requires")
        self.assertEqual(len(scopes), len(set(scopes)), "no scope twice")

    def jwt_claims(self):
        req = self.one_request(case)
        _, claims, _, _ = self.jwt_parts(req)
        missing = [c for c in JWT_FACTS["claims_required"] if c not in claims]
        self.assertEqual(missing, [], f"claims the SDKs always send are missing; claims: {claims}")
        unknown = sorted(set(claims) - set(JWT_FACTS["claims_required"]) - set(JWT_FACTS["claims_optional"]))
        self.assertEqual(unknown, [], "claims the SDKs never send")
        for c in ("iat", "nbf", "exp"):
            self.assertIsInstance(claims[c], int, f"{c} is a NumericDate in whole seconds")
            self.assertNotIsInstance(claims[c], bool)
        self.assertLessEqual(abs(claims["iat"] - req["time"]), CLOCK_SLACK_S, "iat is the signing time")
        self.assertLessEqual(claims["nbf"], claims["iat"], "usable from when it was issued")
        self.assertLessEqual(claims["nbf"], req["time"] + CLOCK_SLACK_S)
        self.assertGreater(claims["exp"], claims["iat"], "expires after it was issued")
        self.assertGreater(claims["exp"], req["time"] - CLOCK_SLACK_S, "not already expired")
        self.assertLessEqual(claims["exp"] - claims["iat"], 3600, "a short-lived token")
        self.assertTrue(contract_lib.is_uuid(claims["jti"]), f"jti {claims['jti']!r} is a UUID")
        self.assertIsInstance(claims["iss"], str)
        self.assertNotEqual(claims["iss"].strip(), "", "iss names the client")

    for name, fn in [("rpc_succeeds", rpc_succeeds), ("method", method), ("path", path),
                     ("only_declared_headers", only_declared_headers), ("content_type", content_type),
                     ("merchant_header", merchant_header), ("body", body), ("jwt_header", jwt_header),
                     ("jwt_signature", jwt_signature), ("jwt_scopes", jwt_scopes), ("jwt_claims", jwt_claims)]:
        fn.__doc__ = None
        add_test(f"{prefix}_{name}", fn)


for c in CASES:
    case_tests(*c)


def test_a_token_is_reused_only_in_the_first_half_of_its_life(self):
    # A signed token is a bearer credential for its whole lifetime, and the
    # SDKs let a client sign one and send it with many calls (the TypeScript
    # SDK's getToken, "create a token once"). The gateway reuses one per
    # scope list for the first half of its lifetime (README, "Credentials"):
    # every use of a jti is the same token, sent before iat + lifetime / 2.
    tokens_by_jti = {}
    uses = 0
    for name, *_ in CASES:
        for req in self.calls[name][3]:
            _, claims, _, _ = self.jwt_parts(req)
            token = self.header_values(req, "authorization")
            uses += 1
            jti = claims.get("jti")
            self.assertTrue(contract_lib.is_uuid(jti), f"jti {jti!r} is a UUID")
            first = tokens_by_jti.setdefault(jti, token)
            self.assertEqual(first, token, "one jti, one token: a jti is never re-signed into another token")
            half_life = (claims["exp"] - claims["iat"]) / 2
            self.assertLessEqual(req["time"], claims["iat"] + half_life + CLOCK_SLACK_S,
                                 "a token is not sent after the first half of its lifetime")
    self.assertEqual(uses, len(CASES), "one token per call")


add_test("test_a_token_is_reused_only_in_the_first_half_of_its_life",
         test_a_token_is_reused_only_in_the_first_half_of_its_life)


def main():
    global GATEWAY_PATH, BUF_PATH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", required=True, help="path of session-gateway")
    parser.add_argument("--buf", required=True, help="path of buf (for buf curl)")
    args, rest = parser.parse_known_args()
    GATEWAY_PATH, BUF_PATH = args.gateway, args.buf
    for what, path in (("--gateway", GATEWAY_PATH), ("--buf", BUF_PATH)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            sys.exit(f"gateway_contract_test: {what} {path!r} is not an executable file")
    contract_lib.arm_wall_clock_limit()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()
