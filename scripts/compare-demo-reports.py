#!/usr/bin/env python3
"""Compares two `hutong demo` report.json files, ignoring what differs run to run: timings and
rates, ports, paths, URLs, and file ids (they follow the order of the concurrent uploads).
Prints every other difference; prints nothing and exits 0 when the reports agree.

    scripts/compare-demo-reports.py before/report.json after/report.json
"""
import json
import re
import sys

VOLATILE = re.compile(r"seconds|url|database|dir|path|_at$|rate|per_s")


def norm(v):
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items() if not VOLATILE.search(k)}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        v = re.sub(r"127\.0\.0\.1:\d+", "ADDR", v)
        return re.sub(r"file \d+", "file N", v)
    return v


def diff(x, y, p, out):
    if type(x) is not type(y):
        out.append(f"{p}: {x!r:.100} -> {y!r:.100}")
    elif isinstance(x, dict):
        for k in sorted(set(x) | set(y)):
            if k not in x or k not in y:
                out.append(f"{p}.{k}: only in {'after' if k not in x else 'before'}")
            else:
                diff(x[k], y[k], f"{p}.{k}", out)
    elif isinstance(x, list):
        if len(x) != len(y):
            out.append(f"{p}: {len(x)} items -> {len(y)}")
        for i, (u, w) in enumerate(zip(x, y)):
            diff(u, w, f"{p}[{i}]", out)
    elif x != y:
        out.append(f"{p}: {x!r:.120} -> {y!r:.120}")


def main():
    a, b = (norm(json.load(open(f))) for f in sys.argv[1:3])
    out = []
    diff(a, b, "", out)
    print("\n".join(out))
    sys.exit(1 if out else 0)


if __name__ == "__main__":
    main()
