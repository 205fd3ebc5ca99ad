#!/usr/bin/python3
"""Renders Google Benchmark JSON into one section of bench/RESULTS.md.

Every benchmark in bench/ ends here: convert_bench writes its JSON with
--benchmark_out, the shell benchmarks write the same shape through
bench/gbench_json.py. This script does no statistics of its own: it reads
the aggregate rows (median, cv) the JSON carries, so a number in RESULTS.md
is always one Google Benchmark (or gbench_json.py, computing it the same
way) wrote.

    render_results.py --md bench/RESULTS.md --section 'Ratio' \\
        --command 'bench/ratio.sh' --metric cpu_time:'gateway CPU µs/call' \\
        --metric rps:'req/s' --baseline forwarded/small \\
        --ratio 'health / forwarded=health/small / forwarded/small>=0.40' FILE.json...

The section `## <section>` of the Markdown file is replaced (or appended),
every other line is kept. It holds: the command, date and machine from the
JSON context, one table row per benchmark (median and CV of each metric
over the repetitions, and each row's first metric as a ratio of the
baseline row's), then the named ratios with their targets.
"""

import argparse
import json
import os
import re
import sys

# Context keys every Google Benchmark JSON has; others are custom context
# (benchmark::AddCustomContext, or gbench_json.py --context) and are listed.
STANDARD_CONTEXT = {"date", "host_name", "executable", "num_cpus", "mhz_per_cpu",
                    "cpu_scaling_enabled", "caches", "load_avg", "library_build_type",
                    "json_schema_version", "cpu_model", "kernel"}
TIME_FIELDS = {"real_time", "cpu_time"}
UNIT_SYMBOL = {"ns": "ns", "us": "µs", "ms": "ms", "s": "s"}


class Metric:
    """FIELD[/DIVISOR][:LABEL]: a field of the runs, optionally scaled."""

    def __init__(self, spec):
        field, _, label = spec.partition(":")
        field, _, divisor = field.partition("/")
        self.field = field
        self.divisor = float(divisor) if divisor else 1.0
        self.label = label or field

    def value(self, row):
        v = row.get(self.field)
        return None if not isinstance(v, (int, float)) else v / self.divisor


class Ratio:
    """LABEL=[FIELD] NUM[ / DEN][>=X|<=X]: median of NUM over median of DEN,
    or NUM's median itself when there is no DEN."""

    PATTERN = re.compile(r"^(?P<label>[^=]+)=\s*(?:\[(?P<field>[^\]]+)\]\s*)?(?P<num>.+?)"
                         r"(?: / (?P<den>.+?))?\s*(?:(?P<op>>=|<=)\s*(?P<target>[0-9.]+))?\s*$")

    def __init__(self, spec):
        m = self.PATTERN.match(spec)
        if not m:
            raise argparse.ArgumentTypeError(f"--ratio {spec!r}: want 'LABEL=[FIELD] NUM / DEN>=X'")
        self.label = m["label"].strip()
        self.field = m["field"]
        # No denominator: the target applies to NUM's own median.
        self.num, self.den = m["num"].strip(), (m["den"] or "").strip()
        self.op = m["op"]
        self.target = float(m["target"]) if m["target"] else None


class Result:
    """One benchmark (run_name): its repetitions and aggregates."""

    def __init__(self, name):
        self.name = name
        self.iterations = []
        self.aggregates = {}
        self.error = None
        self.time_unit = "ns"

    def stat(self, metric, which):
        """The median or cv of a metric; from one repetition if no aggregates."""
        row = self.aggregates.get(which)
        if row is not None:
            v = row.get(metric.field)
            if not isinstance(v, (int, float)):
                return None
            # A cv is a fraction of the mean: scaling does not apply.
            return v if which == "cv" else v / metric.divisor
        if len(self.iterations) == 1 and which == "median":
            return metric.value(self.iterations[0])
        return None


def load(paths):
    """Returns ([(path, context)], {run_name: Result}) in the order of the files."""
    contexts, results = [], {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        contexts.append((path, document.get("context", {})))
        for row in document.get("benchmarks", []):
            name = row.get("run_name", row["name"])
            result = results.setdefault(name, Result(name))
            result.time_unit = row.get("time_unit", result.time_unit)
            if row.get("error_occurred"):
                result.error = row.get("error_message", "error")
            elif row.get("run_type") == "aggregate":
                result.aggregates[row["aggregate_name"]] = row
            else:
                result.iterations.append(row)
    return contexts, results


def fmt(v):
    if v is None:
        return "n/a"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def metric_label(metric, result):
    if metric.field in TIME_FIELDS and metric.label == metric.field:
        return f"{metric.field} ({UNIT_SYMBOL.get(result.time_unit, result.time_unit)})"
    return metric.label


def render(args, contexts, results):
    out = [f"## {args.section}", ""]
    out.append(f"Written by `{args.command}`; rerun it to refresh this section.")
    out.append("")
    for path, ctx in contexts:
        prefix = f"- `{os.path.basename(path)}`: " if len(contexts) > 1 else "- "
        load_avg = " ".join(f"{x:.2f}" for x in ctx.get("load_avg", []))
        out.append(f"{prefix}Date: {ctx.get('date', 'unknown')}; load average at start: {load_avg or 'unknown'}")
        machine = f"{ctx.get('num_cpus', '?')} CPUs"
        if ctx.get("cpu_model"):
            machine += f", `{ctx['cpu_model']}`"
        machine += f", {ctx.get('mhz_per_cpu', '?')} MHz"
        if ctx.get("kernel"):
            machine += f", kernel {ctx['kernel']}"
        machine += f", host `{ctx.get('host_name', '?')}`"
        if ctx.get("cpu_scaling_enabled"):
            machine += ", CPU frequency scaling enabled"
        out.append(f"- Machine: {machine}")
        for key, value in ctx.items():
            if key not in STANDARD_CONTEXT:
                out.append(f"- {key}: {value}")
    reps = max((len(r.iterations) for r in results.values()), default=0)
    out.append(f"- Statistics: median of {reps} repetition(s) per row; CV is stddev / mean over them; "
               f"*(noisy)* marks a CV above {args.noisy_cv * 100:.0f}%.")
    out.append("")
    for note in args.note:
        out.extend([note, ""])
    for path in args.note_file:
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
        if text:
            out.extend([text, ""])

    names = [n for n in results if not args.rows or re.search(args.rows, n)]
    first = results[names[0]] if names else Result("")
    header = ["Benchmark"]
    for metric in args.metric:
        header += [metric_label(metric, first), "CV"]
    baseline = results.get(args.baseline) if args.baseline else None
    if args.baseline:
        header.append(f"{metric_label(args.metric[0], first)} / `{args.baseline}`")
    out.append("| " + " | ".join(header) + " |")
    out.append("|---|" + "---:|" * (len(header) - 1))
    for name in names:
        r = results[name]
        cells = [f"`{name}`"]
        if r.error:
            cells += [f"error: {r.error}", ""] * len(args.metric)
        else:
            for metric in args.metric:
                cv = r.stat(metric, "cv")
                noisy = cv is not None and cv > args.noisy_cv
                cells += [fmt(r.stat(metric, "median")) + (" *(noisy)*" if noisy else ""),
                          "-" if cv is None else f"{cv * 100:.1f}%"]
        if args.baseline:
            m0 = args.metric[0]
            num = None if r.error else r.stat(m0, "median")
            den = baseline.stat(m0, "median") if baseline and not baseline.error else None
            cells.append(f"{num / den:.3f}x" if num is not None and den else "n/a")
        out.append("| " + " | ".join(cells) + " |")

    if args.ratio:
        out += ["", "Ratios of medians (or a median itself), decided on the unrounded values:", "",
                "| Ratio | Measured | Target | Result |", "|---|---:|---|---|"]
        for spec in args.ratio:
            metric = Metric(spec.field) if spec.field else args.metric[0]
            num = results.get(spec.num)
            den = results.get(spec.den) if spec.den else num
            target = f"{spec.op} {spec.target:g}" if spec.op else "(none)"
            if not num or not den or num.error or den.error:
                out.append(f"| {spec.label} | not measured | {target} | - |")
                continue
            a = num.stat(metric, "median")
            b = den.stat(metric, "median") if spec.den else 1.0
            if a is None or not b:
                out.append(f"| {spec.label} | not measured | {target} | - |")
                continue
            ratio = a / b
            if spec.op:
                met = ratio >= spec.target if spec.op == ">=" else ratio <= spec.target
                verdict = "met" if met else "**missed**"
            else:
                verdict = "-"
            cvs = [num.stat(metric, "cv"), den.stat(metric, "cv")]
            if any(cv is not None and cv > args.noisy_cv for cv in cvs):
                verdict += " (noisy)"
            what = f"`{spec.num}` / `{spec.den}`" if spec.den else f"`{spec.num}`"
            out.append(f"| {spec.label}: {what} ({metric.label}) | "
                       f"{ratio:.3f} | {target} | {verdict} |")
    return "\n".join(out) + "\n"


def replace_section(md_path, section, text):
    """Replaces `## section` up to the next `## ` heading, or appends it."""
    try:
        with open(md_path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = ["# Benchmark results", "",
                 "One section per benchmark command, each written by that command "
                 "(through bench/render_results.py); see README.md, Benchmarks."]
    heading = f"## {section}"
    try:
        begin = next(i for i, line in enumerate(lines) if line.rstrip() == heading)
        end = next((i for i in range(begin + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    except StopIteration:
        begin = end = len(lines)
    before, after = lines[:begin], lines[end:]
    while before and not before[-1].strip():
        before.pop()
    body = "\n".join(before) + "\n\n" + text
    if after:
        body += "\n" + "\n".join(after) + "\n"
    tmp = f"{md_path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(body)
    os.replace(tmp, md_path)


def main():
    parser = argparse.ArgumentParser(
        description="Render Google Benchmark JSON into one section of a Markdown file.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--md", required=True, help="Markdown file (bench/RESULTS.md)")
    parser.add_argument("--section", required=True, help="section title, without '## '")
    parser.add_argument("--command", required=True, help="the command that produced the JSON")
    parser.add_argument("--metric", type=Metric, action="append", default=[],
                        help="FIELD[/DIVISOR][:LABEL] column (default cpu_time); repeatable")
    parser.add_argument("--baseline", help="run_name the first metric of each row is divided by")
    parser.add_argument("--ratio", type=Ratio, action="append", default=[],
                        help="'LABEL=[FIELD] NUM / DEN>=X' (or <=X, or no target; without ' / DEN' the "
                             "target is on NUM's median); repeatable")
    parser.add_argument("--rows", help="only benchmarks whose name matches this regex")
    parser.add_argument("--noisy_cv", type=float, default=0.05,
                        help="CV (fraction) above which a number is marked noisy (default 0.05)")
    parser.add_argument("--note", action="append", default=[], help="paragraph before the table")
    parser.add_argument("--note_file", action="append", default=[], help="Markdown file of notes")
    parser.add_argument("--print", action="store_true", help="also print the section")
    parser.add_argument("json", nargs="+", help="Google Benchmark JSON files")
    args = parser.parse_args()
    if not args.metric:
        args.metric = [Metric("cpu_time")]

    contexts, results = load(args.json)
    if not results:
        sys.exit("render_results: no benchmarks in " + " ".join(args.json))
    text = render(args, contexts, results)
    replace_section(args.md, args.section, text)
    if args.print:
        sys.stdout.write(text)
    print(f"render_results: wrote ## {args.section} of {args.md}", file=sys.stderr)


if __name__ == "__main__":
    main()
