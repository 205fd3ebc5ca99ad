"""Shared helpers of the contract tests: the contract data, schema
validation, starting a binary that prints `listening on HOST:PORT`.

Only the Python standard library and Debian packages (python3-jsonschema,
python3-cryptography) are used. Everything listens on 127.0.0.1.
"""

import json
import os
import re
import select
import signal
import subprocess
import time
import uuid

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACT_FILE = os.path.join(HERE, "session_api_contract.json")
SCHEMAS_FILE = os.path.join(HERE, "session_api_schemas.json")

# The whole run of one test file must end well inside CTest's TIMEOUT 120.
WALL_CLOCK_LIMIT_S = 100


def load_contract():
    with open(CONTRACT_FILE, encoding="utf-8") as f:
        return json.load(f)


def load_schemas():
    with open(SCHEMAS_FILE, encoding="utf-8") as f:
        return json.load(f)


class Schemas:
    """Validates instances against one named $defs entry of the schema file."""

    def __init__(self):
        self.doc = load_schemas()
        jsonschema.Draft202012Validator.check_schema(self.doc)
        self._validators = {}

    def names(self):
        return sorted(self.doc["$defs"])

    def validator(self, name):
        if name not in self.doc["$defs"]:
            raise KeyError(f"no schema named {name} in {SCHEMAS_FILE}")
        if name not in self._validators:
            wrapper = dict(self.doc)
            wrapper["$ref"] = f"#/$defs/{name}"
            self._validators[name] = jsonschema.Draft202012Validator(
                wrapper, format_checker=jsonschema.FormatChecker())
        return self._validators[name]

    def errors(self, name, instance):
        """Every way `instance` breaks schema `name`, one line each ([] if valid)."""
        out = []
        for e in sorted(self.validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "/" + "/".join(str(p) for p in e.absolute_path)
            out.append(f"{where}: {e.message}")
        return out


def path_regex(template, parameters):
    """A regex that matches a concrete path of `template`; each parameter is
    one non-empty path segment captured by name."""
    out = "^"
    pos = 0
    for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", template):
        out += re.escape(template[pos:m.start()])
        name = m.group(1)
        if name not in parameters:
            raise ValueError(f"{template}: parameter {name} is not declared")
        out += f"(?P<{name}>[^/?#]+)"
        pos = m.end()
    return re.compile(out + re.escape(template[pos:]) + "$")


def is_uuid(text):
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return re.fullmatch(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", text) is not None


def parameter_problems(name, value, rule):
    """What is wrong with path parameter `value` under its contract `rule`."""
    problems = []
    if not isinstance(value, str) or value == "":
        return [f"{name}: empty"]
    if rule.get("format") == "uuid" and not is_uuid(value):
        problems.append(f"{name}: {value!r} is not a uuid (format uuid)")
    if rule.get("pattern") and re.search(rule["pattern"], value) is None:
        problems.append(f"{name}: {value!r} does not match {rule['pattern']}")
    return problems


class Process:
    """A child process that prints `listening on HOST:PORT` on stdout."""

    def __init__(self, argv, name, start_timeout_s=20):
        self.name = name
        self.argv = argv
        self.stderr_path = f"/tmp/contract-{name}-{os.getpid()}.stderr"
        self._stderr = open(self.stderr_path, "w+b")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, start_new_session=True)
        _LIVE.append(self)
        self.address = self._wait_listening(start_timeout_s)

    def _wait_listening(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        buf = b""
        fd = self.proc.stdout.fileno()
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                buf += chunk
                m = re.search(rb"listening on (\S+):(\d+)\r?\n", buf)
                if m:
                    return f"{m.group(1).decode()}:{int(m.group(2))}"
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"{self.name} did not print 'listening on' within {timeout_s}s; "
                           f"stdout={buf!r} stderr={self.stderr()!r}")

    def stderr(self):
        self._stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self in _LIVE:
            _LIVE.remove(self)
        self.proc.stdout.close()
        self._stderr.close()
        try:
            os.unlink(self.stderr_path)
        except OSError:
            pass


_LIVE = []


def arm_wall_clock_limit():
    """Ends the run (exit status 1) if it outlives WALL_CLOCK_LIMIT_S, after
    killing every child process still running (each runs in a session of its
    own, so it would not die with us)."""

    def expire(_signum, _frame):
        for p in list(_LIVE):
            if p.proc.poll() is None:
                p.proc.kill()
        os.write(2, f"contract test: over the {WALL_CLOCK_LIMIT_S}s wall-clock limit\n".encode())
        os._exit(1)

    signal.signal(signal.SIGALRM, expire)
    signal.alarm(WALL_CLOCK_LIMIT_S)
