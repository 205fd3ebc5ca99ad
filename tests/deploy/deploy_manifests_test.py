#!/usr/bin/env python3
"""Invariants of deploy/: the Kubernetes manifests and the Dockerfile agree
with each other and with the gateway binary. No cluster or Docker engine is
used: the files are parsed (PyYAML) and the built binary's --help is run.

  * probes hit the container port the gateway listens on (--listen), on all
    interfaces;
  * terminationGracePeriodSeconds exceeds --shutdown_grace;
  * args name only flags that `session-gateway --help` lists;
  * --private_key_file is a file of a mounted Secret;
  * the pod runs as non-root with a read-only root filesystem;
  * Services, PodDisruptionBudget and HorizontalPodAutoscaler select or
    target the Deployment;
  * the Dockerfile is multi-stage, ends as a non-root USER with an exec-form
    ENTRYPOINT, and its build packages come from scripts/install-deps.sh.
"""
import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import unittest

import yaml

ARGS = None


def duration_seconds(text):
    """Seconds in a Go/absl duration such as "20s", "1m30s", "500ms"."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def flag_values(args):
    """{flag name: value} from ["--name=value", ...]; a bare --flag is "true"."""
    values = {}
    for arg in args:
        assert arg.startswith("--"), f"argument {arg!r} is not a --flag"
        name, _, value = arg[2:].partition("=")
        values[name] = value if "=" in arg else "true"
    return values


def port_of(address):
    return int(address.rsplit(":", 1)[1])


class Manifests:
    def __init__(self, directory):
        self.documents = []
        for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))):
            with open(path, encoding="utf-8") as f:
                self.documents += [d for d in yaml.safe_load_all(f) if d]

    def of_kind(self, kind):
        return [d for d in self.documents if d["kind"] == kind]


class DeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        help_text = subprocess.run([ARGS.gateway, "--help"], capture_output=True, text=True, timeout=30,
                                   check=True).stdout
        cls.known_flags = set(re.findall(r"^  --(\w+)$", help_text, re.MULTILINE))
        cls.help_text = help_text
        assert "listen" in cls.known_flags, help_text
        cls.manifests = Manifests(os.path.join(ARGS.deploy_dir, "kubernetes"))
        deployments = cls.manifests.of_kind("Deployment")
        assert len(deployments) == 1, "expected one Deployment"
        cls.deployment = deployments[0]
        cls.pod = cls.deployment["spec"]["template"]["spec"]
        containers = cls.pod["containers"]
        assert len(containers) == 1, "expected one container"
        cls.container = containers[0]
        cls.flags = flag_values(cls.container.get("args", []))
        cls.ports = {p["name"]: p["containerPort"] for p in cls.container["ports"]}

    def default_of(self, flag):
        match = re.search(rf"^  --{flag}\n.*?\n      default: (\S+);", self.help_text, re.MULTILINE | re.DOTALL)
        self.assertIsNotNone(match, f"--help has no default for --{flag}")
        return match.group(1)

    def test_args_name_only_flags_the_binary_knows(self):
        unknown = set(self.flags) - self.known_flags
        self.assertFalse(unknown, f"args name flags that --help does not list: {sorted(unknown)}")
        self.assertNotIn("command", self.container, "the image's ENTRYPOINT must stay the gateway")

    def test_gateway_listens_on_all_interfaces_on_the_container_port(self):
        listen = self.flags.get("listen")
        self.assertIsNotNone(listen, "--listen must be explicit: the default is loopback only")
        self.assertEqual(listen.rsplit(":", 1)[0], "0.0.0.0")
        self.assertEqual(port_of(listen), self.ports["grpc"])
        if "metrics_listen" in self.flags:
            self.assertEqual(port_of(self.flags["metrics_listen"]), self.ports["metrics"])
            annotations = self.deployment["spec"]["template"]["metadata"].get("annotations", {})
            if "prometheus.io/port" in annotations:
                self.assertEqual(int(annotations["prometheus.io/port"]), self.ports["metrics"])

    def test_probes_are_grpc_health_checks_on_the_grpc_port(self):
        for probe_name in ("readinessProbe", "livenessProbe"):
            probe = self.container.get(probe_name)
            self.assertIsNotNone(probe, probe_name)
            self.assertIn("grpc", probe, f"{probe_name} must be a native gRPC probe")
            self.assertEqual(probe["grpc"]["port"], self.ports["grpc"], probe_name)
            self.assertIn(probe["grpc"].get("service", ""), ("", "gr4vy.sessions.v1.SessionService"), probe_name)
        self.assertNotIn("service", self.container["livenessProbe"]["grpc"],
                         "liveness must not depend on SessionService turning NOT_SERVING while draining")

    def test_termination_grace_exceeds_the_shutdown_grace(self):
        shutdown_grace = duration_seconds(self.flags.get("shutdown_grace", self.default_of("shutdown_grace")))
        self.assertGreater(self.pod.get("terminationGracePeriodSeconds", 30), shutdown_grace)
        if "upstream_timeout" in self.flags:
            # A call started just before SIGTERM may take the whole upstream timeout.
            self.assertLessEqual(duration_seconds(self.flags["upstream_timeout"]),
                                 self.pod.get("terminationGracePeriodSeconds", 30))

    def test_private_key_file_comes_from_a_mounted_secret(self):
        key_file = self.flags.get("private_key_file")
        self.assertIsNotNone(key_file, "--private_key_file")
        self.assertNotIn("GR4VY_BEARER_TOKEN", json.dumps(self.container.get("env", [])))
        secret_volumes = {v["name"]: v["secret"] for v in self.pod.get("volumes", []) if "secret" in v}
        found = False
        for mount in self.container.get("volumeMounts", []):
            if mount["name"] not in secret_volumes:
                continue
            prefix = mount["mountPath"].rstrip("/") + "/"
            if not key_file.startswith(prefix):
                continue
            self.assertTrue(mount.get("readOnly"), "the key's mount must be read-only")
            self.assertNotIn("subPath", mount, "a subPath mount never sees Secret updates")
            secret = secret_volumes[mount["name"]]
            relative = key_file[len(prefix):]
            files = [item["path"] for item in secret["items"]] if "items" in secret else None
            if files is not None:
                self.assertIn(relative, files, f"{key_file} is not a file of Secret {secret['secretName']}")
            found = True
        self.assertTrue(found, f"no Secret volume is mounted where --private_key_file={key_file} points")

    def test_pod_runs_as_non_root_with_a_read_only_root(self):
        pod_context = self.pod.get("securityContext", {})
        container_context = self.container.get("securityContext", {})
        merged = {**pod_context, **container_context}
        self.assertTrue(merged.get("runAsNonRoot"), "runAsNonRoot")
        self.assertNotEqual(merged.get("runAsUser"), 0)
        self.assertTrue(container_context.get("readOnlyRootFilesystem"), "readOnlyRootFilesystem")
        self.assertFalse(container_context.get("allowPrivilegeEscalation", True), "allowPrivilegeEscalation")
        self.assertIn("ALL", container_context.get("capabilities", {}).get("drop", []))
        self.assertIn("memory", self.container.get("resources", {}).get("limits", {}))
        self.assertIn("cpu", self.container.get("resources", {}).get("requests", {}))

    def test_services_pdb_and_hpa_point_at_the_deployment(self):
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(self.deployment["spec"]["selector"]["matchLabels"].items() - labels.items(), set())
        services = self.manifests.of_kind("Service")
        self.assertTrue(any(s["spec"].get("clusterIP") == "None" for s in services), "no headless Service")
        for service in services:
            self.assertEqual(service["spec"]["selector"].items() - labels.items(), set(), service["metadata"]["name"])
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                self.assertEqual(self.ports["grpc"], self.ports.get(target, target), service["metadata"]["name"])
        pdbs = self.manifests.of_kind("PodDisruptionBudget")
        self.assertEqual(len(pdbs), 1)
        self.assertEqual(pdbs[0]["spec"]["selector"]["matchLabels"].items() - labels.items(), set())
        hpas = self.manifests.of_kind("HorizontalPodAutoscaler")
        self.assertEqual(len(hpas), 1)
        hpa = hpas[0]["spec"]
        self.assertEqual((hpa["scaleTargetRef"]["kind"], hpa["scaleTargetRef"]["name"]),
                         ("Deployment", self.deployment["metadata"]["name"]))
        # With a PDB allowing one replica down, at least two must run.
        self.assertGreaterEqual(hpa["minReplicas"], 2)
        self.assertLessEqual(hpa["minReplicas"], hpa["maxReplicas"])


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ARGS.deploy_dir, "Dockerfile"), encoding="utf-8") as f:
            text = f.read()
        # Join continuation lines, drop comments.
        text = re.sub(r"\\\n", " ", text)
        cls.instructions = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                keyword, _, rest = line.partition(" ")
                cls.instructions.append((keyword.upper(), rest.strip()))
        starts = [i for i, (k, _) in enumerate(cls.instructions) if k == "FROM"]
        cls.stages = [cls.instructions[a:b] for a, b in zip(starts, starts[1:] + [len(cls.instructions)])]

    def final(self, keyword):
        return [rest for k, rest in self.stages[-1] if k == keyword]

    def test_multi_stage_on_debian_12(self):
        self.assertGreaterEqual(len(self.stages), 2)
        for stage in self.stages:
            self.assertRegex(stage[0][1], r"^debian:12(-slim)?\b")

    def test_final_user_is_not_root(self):
        users = self.final("USER")
        self.assertTrue(users, "the final stage sets no USER: it would run as root")
        user = users[-1].split(":")[0]
        self.assertNotIn(user, ("root", "0"))
        self.assertRegex(user, r"^\d+$", "a numeric USER lets Kubernetes verify runAsNonRoot")
        deployment_user = DeployTest.pod.get("securityContext", {}).get("runAsUser")
        if deployment_user is not None:
            self.assertEqual(int(user), deployment_user)

    def test_entrypoint_is_exec_form_and_runs_the_gateway(self):
        entrypoints = self.final("ENTRYPOINT")
        self.assertEqual(len(entrypoints), 1)
        entrypoint = json.loads(entrypoints[0])  # Shell form is not JSON.
        self.assertIsInstance(entrypoint, list)
        self.assertTrue(entrypoint[0].endswith("/session-gateway"))
        copies = " ".join(self.final("COPY"))
        self.assertIn(entrypoint[0], copies, "ENTRYPOINT runs a file the final stage does not copy in")
        cmd = json.loads(self.final("CMD")[-1])
        listen = flag_values(cmd).get("listen")
        self.assertEqual(listen, "0.0.0.0:50051")
        self.assertEqual(port_of(listen), DeployTest.ports["grpc"])
        exposed = {int(p.split("/")[0]) for e in self.final("EXPOSE") for p in e.split()}
        self.assertIn(port_of(listen), exposed)

    def test_build_packages_come_from_install_deps(self):
        with open(os.path.join(ARGS.source_dir, "scripts", "install-deps.sh"), encoding="utf-8") as f:
            install_deps = f.read()
        block = re.search(r"packages=\((.*?)\)", install_deps, re.DOTALL).group(1)
        project_packages = set(block.split())
        runs = " ".join(rest for k, rest in self.stages[0] if k == "RUN")
        match = re.search(r"apt-get install (.*?)(&&|$)", runs)
        self.assertIsNotNone(match)
        packages = {w for w in shlex.split(match.group(1)) if not w.startswith("-")}
        self.assertEqual(packages - project_packages, set(), "build packages missing from install-deps.sh")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--source_dir", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.deploy_dir = os.path.join(ARGS.source_dir, "deploy")
    DeployTest.setUpClass()  # DockerfileTest compares against the Deployment.
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
