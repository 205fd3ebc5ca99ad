#!/usr/bin/env python3
"""The /metrics scrape as Prometheus reads it: parsed by the Prometheus
project's own Python parser (prometheus_client.parser), not by our regexes.

1. metrics_fixture serves a GatewayMetrics with known values: every family
   has the expected name, type, labels and values.
2. The real session-gateway with --metrics_listen serves the same families,
   every declared series present from the first scrape.

Loopback only; every wait is bounded.
"""
import argparse
import math
import os
import re
import select
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

ARGS = None

# Family name (as the parser reports it: counters without "_total") -> type.
EXPECTED_TYPES = {
    "session_gateway_calls": "counter",
    "session_gateway_call_duration_seconds": "histogram",
    "session_gateway_calls_in_flight": "gauge",
    "session_gateway_calls_waiting": "gauge",
    "session_gateway_calls_shed": "counter",
    "session_gateway_upstream_responses": "counter",
    "session_gateway_upstream_attempts": "counter",
    "session_gateway_upstream_retries": "counter",
    "session_gateway_upstream_open_connections": "gauge",
}
METHODS = ["CreatePaymentServiceSession", "CreatePaymentServiceDefinitionSession"]
GRPC_CODES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
              "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
              "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
              "UNAUTHENTICATED"]


def scrape(address):
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        assert response.status == 200, response.status
        assert response.headers["Content-Type"].startswith("text/plain"), response.headers["Content-Type"]
        return response.read().decode("utf-8")


def families(text):
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(family, sample_name, **labels):
    """The value of the one sample named `sample_name` with exactly `labels`."""
    matches = [s.value for s in family.samples if s.name == sample_name and s.labels == labels]
    assert len(matches) == 1, f"{sample_name}{labels}: {len(matches)} samples"
    return matches[0]


def read_line(stream, pattern, timeout):
    """The first line of `stream` matching `pattern` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} within {timeout}s; saw {seen!r}")


class MetricsTestCase(unittest.TestCase):
    def assert_expected_families(self, parsed):
        for name, kind in EXPECTED_TYPES.items():
            self.assertIn(name, parsed, f"family {name} missing")
            self.assertEqual(parsed[name].type, kind, name)
            self.assertTrue(parsed[name].documentation, f"{name} has no HELP")
        calls = parsed["session_gateway_calls"]
        for sample in calls.samples:
            self.assertEqual(sample.name, "session_gateway_calls_total")
            self.assertEqual(set(sample.labels), {"method", "code"}, sample)
        for method in METHODS:
            for code in GRPC_CODES:
                value(calls, "session_gateway_calls_total", method=method, code=code)
        duration = parsed["session_gateway_call_duration_seconds"]
        buckets = sorted({float(s.labels["le"]) for s in duration.samples if s.name.endswith("_bucket")})
        self.assertEqual(buckets[0], 0.001)  # Seconds: 1 ms ...
        self.assertIn(30.0, buckets)          # ... to 30 s.
        self.assertTrue(math.isinf(buckets[-1]))


class FixtureScrapeTest(MetricsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.fixture = subprocess.Popen([ARGS.fixture], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True)
        cls.address = read_line(cls.fixture.stdout, r"^listening on (\S+)", 10).group(1)
        cls.parsed = families(scrape(cls.address))

    @classmethod
    def tearDownClass(cls):
        cls.fixture.stdin.close()  # The fixture exits when stdin closes.
        cls.fixture.wait(timeout=10)

    def test_names_types_and_labels(self):
        self.assert_expected_families(self.parsed)

    def test_values(self):
        p = self.parsed
        create, definition = METHODS
        calls = p["session_gateway_calls"]
        self.assertEqual(value(calls, "session_gateway_calls_total", method=create, code="OK"), 1)
        self.assertEqual(value(calls, "session_gateway_calls_total", method=create, code="UNAVAILABLE"), 1)
        self.assertEqual(value(calls, "session_gateway_calls_total", method=definition, code="OK"), 0)
        self.assertEqual(value(p["session_gateway_calls_in_flight"], "session_gateway_calls_in_flight"), 1)
        self.assertEqual(value(p["session_gateway_calls_waiting"], "session_gateway_calls_waiting"), 4)
        self.assertEqual(value(p["session_gateway_calls_shed"], "session_gateway_calls_shed_total",
                               method=definition), 1)
        self.assertEqual(value(p["session_gateway_calls_shed"], "session_gateway_calls_shed_total",
                               method=create), 0)
        responses = p["session_gateway_upstream_responses"]
        for status, expected in (("201", 1), ("503", 1), ("error", 1)):
            self.assertEqual(value(responses, "session_gateway_upstream_responses_total", status=status),
                             expected, status)
        self.assertEqual(value(p["session_gateway_upstream_attempts"], "session_gateway_upstream_attempts_total"), 3)
        self.assertEqual(value(p["session_gateway_upstream_retries"], "session_gateway_upstream_retries_total"), 1)
        self.assertEqual(value(p["session_gateway_upstream_open_connections"],
                               "session_gateway_upstream_open_connections"), 2)
        duration = p["session_gateway_call_duration_seconds"]
        name = "session_gateway_call_duration_seconds"
        self.assertEqual(value(duration, name + "_count", method=create), 2)
        self.assertAlmostEqual(value(duration, name + "_sum", method=create), 2.02)
        self.assertEqual(value(duration, name + "_bucket", method=create, le="0.01"), 0)
        self.assertEqual(value(duration, name + "_bucket", method=create, le="0.025"), 1)  # 20 ms
        self.assertEqual(value(duration, name + "_bucket", method=create, le="1"), 1)
        self.assertEqual(value(duration, name + "_bucket", method=create, le="2.5"), 2)   # 2 s
        self.assertEqual(value(duration, name + "_bucket", method=create, le="+Inf"), 2)
        self.assertEqual(value(duration, name + "_count", method=definition), 0)


class GatewayScrapeTest(MetricsTestCase):
    def test_the_gateway_serves_every_family_from_the_start(self):
        gateway = subprocess.Popen(
            [ARGS.gateway, "--listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0", "--log_calls=false"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            address = read_line(gateway.stderr, r"metrics on http://(\S+)/metrics", 15).group(1)
            parsed = families(scrape(address))
            self.assert_expected_families(parsed)
            self.assertEqual(value(parsed["session_gateway_calls_in_flight"], "session_gateway_calls_in_flight"), 0)
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.communicate(timeout=15)
        self.assertEqual(gateway.returncode, 0)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixture", required=True)
    parser.add_argument("--gateway", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
