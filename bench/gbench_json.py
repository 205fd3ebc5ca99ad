#!/usr/bin/python3
"""Writes measurements taken by a shell benchmark as Google Benchmark JSON.

The shell benchmarks (bench/ratio.sh, bench/scaling.sh, bench/inflight.sh)
measure with h2load, grpc_load_client and /proc, not with Google Benchmark.
Writing their repetitions in the shape `--benchmark_format=json` produces
lets bench/render_results.py read every benchmark the same way, so the
statistics (mean, median, stddev, cv) are computed here the way the library
computes them, and rendered in one place.

    gbench_json.py --out FILE [--context KEY=VALUE]... RUNS

RUNS has one line per repetition: a benchmark name, a tab, then
space-separated KEY=VALUE numbers. `real_time` and `cpu_time` (in
`time_unit`, default us) and `iterations` are the library's fields; every
other key becomes a user counter. Example:

    forwarded/small<TAB>real_time=21.3 cpu_time=190.2 iterations=30000 rps=4690

Repetitions of one name are numbered in the order they appear, and the
aggregates follow the last one, as the library writes them.
"""

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import time

# Fields the library writes itself; any other key is a user counter.
RUN_FIELDS = ("real_time", "cpu_time", "iterations")


def read_runs(path):
    """Returns [(name, {key: float})] in file order."""
    runs = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            name, sep, rest = line.partition("\t")
            if not sep:
                sys.exit(f"{path}:{lineno}: want NAME<TAB>KEY=VALUE...")
            values = {}
            for item in rest.split():
                key, eq, value = item.partition("=")
                if not eq:
                    sys.exit(f"{path}:{lineno}: {item!r} is not KEY=VALUE")
                try:
                    values[key] = float(value)
                except ValueError:
                    sys.exit(f"{path}:{lineno}: {key}: {value!r} is not a number")
            runs.append((name, values))
    return runs


def machine_context(extra):
    """The library's context keys, filled from this machine, plus `extra`."""
    mhz = 0.0
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "cpu MHz" and not mhz:
                    mhz = float(value)
                elif key == "model name" and model == "unknown":
                    model = value.strip()
    except OSError:
        pass
    context = {
        # The library writes local time with its offset, e.g. 2026-01-02T03:04:05+00:00.
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host_name": socket.gethostname(),
        "executable": extra.pop("executable", ""),
        "num_cpus": os.cpu_count() or 0,
        "mhz_per_cpu": int(round(mhz)),
        "cpu_scaling_enabled": False,
        "load_avg": list(os.getloadavg()),
        "library_build_type": "n/a (measured by a shell script, written by bench/gbench_json.py)",
        # Not library keys: custom context, as benchmark::AddCustomContext adds.
        "cpu_model": model,
        "kernel": platform.release(),
    }
    context.update(extra)
    return context


def aggregates(name, reps, time_unit):
    """mean, median, stddev and cv rows over `reps`, as the library makes them."""
    keys = []
    for rep in reps:
        keys.extend(k for k in rep if k not in keys)
    n = len(reps)
    rows = []
    for agg in ("mean", "median", "stddev", "cv"):
        row = {
            "name": f"{name}_{agg}",
            "run_name": name,
            "run_type": "aggregate",
            "repetitions": n,
            "threads": 1,
            "aggregate_name": agg,
            "aggregate_unit": "percentage" if agg == "cv" else "time",
            "iterations": n,
            "time_unit": time_unit,
        }
        for key in keys:
            if key == "iterations":
                continue
            values = [rep[key] for rep in reps if key in rep]
            mean = statistics.fmean(values)
            # The library's stddev is the sample standard deviation, and cv
            # is stddev / mean as a fraction; both are 0 for one repetition.
            stddev = statistics.stdev(values) if len(values) > 1 else 0.0
            row[key] = {
                "mean": mean,
                "median": statistics.median(values),
                "stddev": stddev,
                "cv": stddev / mean if mean else 0.0,
            }[agg]
        rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--time_unit", default="us", choices=("ns", "us", "ms", "s"))
    parser.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                        help="extra context (executable=... is the command that ran)")
    parser.add_argument("runs", help="file of NAME<TAB>KEY=VALUE... lines, one per repetition")
    args = parser.parse_args()

    extra = {}
    for item in args.context:
        key, eq, value = item.partition("=")
        if not eq:
            parser.error(f"--context {item!r}: want KEY=VALUE")
        extra[key] = value

    by_name = {}
    for name, values in read_runs(args.runs):
        by_name.setdefault(name, []).append(values)
    benchmarks = []
    for family, (name, reps) in enumerate(by_name.items()):
        for index, values in enumerate(reps):
            row = {
                "name": name,
                "family_index": family,
                "per_family_instance_index": 0,
                "run_name": name,
                "run_type": "iteration",
                "repetitions": len(reps),
                "repetition_index": index,
                "threads": 1,
                "iterations": int(values.get("iterations", 1)),
                "real_time": values.get("real_time", 0.0),
                "cpu_time": values.get("cpu_time", 0.0),
                "time_unit": args.time_unit,
            }
            row.update({k: v for k, v in values.items() if k not in RUN_FIELDS})
            benchmarks.append(row)
        for row in aggregates(name, reps, args.time_unit):
            row["family_index"] = family
            row["per_family_instance_index"] = 0
            benchmarks.append(row)

    document = {"context": machine_context(extra), "benchmarks": benchmarks}
    tmp = f"{args.out}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
