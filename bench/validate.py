"""Benchmark: `janus validate` over 10,000 request files and 200 policies, beside a bare loop.

    .venv/bin/python bench/validate.py [--files 10000] [--policies 200] [--repeat 3]

Generates a throwaway access repository, then runs each contender in its own fresh process (so
peak RSS is each one's own) over the same files, in the same run:

* ``janus``: ``janus validate --format json --members ...`` in-process (``janus.cli.main``): safe
  event-level loading, schema with format checks, path checks, policy evaluation, JSON output;
* ``bare``: the naive loop the issue names, ``yaml.safe_load`` + a compiled jsonschema validator;
* ``bare-c``: the same loop with PyYAML's C loader (``yaml.CSafeLoader``), the fastest bare loop.

Prints files/s, peak RSS and the ratio of janus's time to each bare loop's (best of --repeat).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

CONFIG = """\
apiVersion: janus.dev/v1alpha1
kind: JanusConfig
metadata: {name: janus}
spec:
  clusters: [prod, staging]
  excludedNamespaces: [kube-system, kube-public, kube-node-lease]
  duration: {min: 10m, max: 8h, default: 1h}
  roles:
    pod-exec: {clusterRole: janus-pod-exec}
  admins: {teams: [acme/sre]}
  pendingTimeout: 24h
"""

POLICY = """\
apiVersion: janus.dev/v1alpha1
kind: AccessPolicy
metadata: {{name: team-{i}}}
spec:
  clusters: [prod, staging]
  namespaces: [team-{i}, "team-{i}-*"]
  roles: [pod-exec]
  requesters: {{users: [owner{i}], teams: [acme/team-{i}-devs]}}
  approvers: {{teams: [acme/team-{i}-leads], required: {required}}}
  maxDuration: 4h
  ticketPattern: "^INC-[0-9]+$"
"""

REQUEST = """\
apiVersion: janus.dev/v1alpha1
kind: AccessRequest
metadata:
  name: {name}
spec:
  requester: {requester}
  cluster: {cluster}
  namespace: {namespace}
  role: pod-exec
  duration: {duration}
  reason: "INC-{n}: worker {n} is stuck and needs a look at its queue"
  ticket: INC-{n}
"""


def generate(root: Path, files: int, policies: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "janus.yaml").write_text(CONFIG)
    teams: dict[str, list[str]] = {}
    for i in range(policies):
        (root / "policies" / f"team-{i}.yaml").write_text(
            POLICY.format(i=i, required=1 + i % 2))
        teams[f"acme/team-{i}-devs"] = [f"dev{i}-{k}" for k in range(5)]
        teams[f"acme/team-{i}-leads"] = [f"lead{i}-{k}" for k in range(2)]
    (root / "members.yaml").write_text(json.dumps({"teams": teams}))  # JSON is YAML
    for n in range(files):
        i = rng.randrange(policies)
        cluster = rng.choice(["prod", "staging"])
        namespace = f"team-{i}" if rng.random() < 0.7 else f"team-{i}-{rng.choice('abc')}"
        requester = f"dev{i}-{rng.randrange(5)}"
        # About 3% break a policy limit: realistic, and it exercises the refusal path.
        duration = "6h" if rng.random() < 0.03 else rng.choice(["30m", "1h", "2h", "1h30m"])
        name = f"{requester}-{n}"
        folder = root / "requests" / cluster / namespace
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.yaml").write_text(REQUEST.format(
            name=name, requester=requester, cluster=cluster, namespace=namespace,
            duration=duration, n=n))


def request_files(repo: Path) -> list[Path]:
    out = []
    for folder, dirs, names in os.walk(repo / "requests"):
        dirs.sort()
        out += [Path(folder) / name for name in sorted(names)]
    return out


# -- workers (each runs in a fresh process) ------------------------------------------------------


def work_janus(repo: Path) -> dict[str, float]:
    from janus.cli import main

    sink = io.StringIO()
    started = time.perf_counter()
    with redirect_stdout(sink), redirect_stderr(io.StringIO()):
        code = main(["validate", "--repo", str(repo), "--format", "json",
                     "--members", str(repo / "members.yaml")])
    elapsed = time.perf_counter() - started
    files = json.loads(sink.getvalue())["files"]
    return {"seconds": elapsed, "files": len(files), "exit": code,
            "invalid": sum(not f["valid"] for f in files)}


def work_bare(repo: Path, c_loader: bool) -> dict[str, float]:
    import yaml
    from jsonschema import Draft202012Validator

    from janus.model.schema import schema_text

    loader = yaml.CSafeLoader if c_loader else yaml.SafeLoader
    started = time.perf_counter()
    validator = Draft202012Validator(json.loads(schema_text("AccessRequest")))
    invalid = 0
    paths = request_files(repo)
    for path in paths:
        document = yaml.load(path.read_bytes(), Loader=loader)  # noqa: S506 - a safe loader
        errors = list(validator.iter_errors(document))
        invalid += bool(errors)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "files": len(paths), "exit": 0, "invalid": invalid}


def worker(kind: str, repo: Path) -> None:
    if kind == "janus":
        result = work_janus(repo)
    else:
        result = work_bare(repo, c_loader=(kind == "bare-c"))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


# -- driver ---------------------------------------------------------------------------------------


def run_worker(kind: str, repo: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--repo", str(repo)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", choices=("janus", "bare", "bare-c"), help=argparse.SUPPRESS)
    parser.add_argument("--repo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.repo)
        return

    import yaml

    with tempfile.TemporaryDirectory(prefix="janus-bench-") as tmp:
        repo = Path(tmp)
        started = time.perf_counter()
        generate(repo, args.files, args.policies)
        print(f"generated {args.files} request files and {args.policies} policies "
              f"in {time.perf_counter() - started:.1f}s (PyYAML C loader available: "
              f"{yaml.__with_libyaml__}; CPUs: {os.cpu_count()})")
        best: dict[str, dict[str, float]] = {}
        for round_ in range(args.repeat):
            for kind in ("janus", "bare", "bare-c"):  # interleaved: drift hits all alike
                result = run_worker(kind, repo)
                if kind not in best or result["seconds"] < best[kind]["seconds"]:
                    best[kind] = result
            print(f"round {round_ + 1}/{args.repeat} done")
        print()
        print(f"{'contender':<8} {'files':>6} {'invalid':>7} {'seconds':>8} {'files/s':>8} "
              f"{'peak RSS':>9}")
        for kind, r in best.items():
            print(f"{kind:<8} {r['files']:>6} {r['invalid']:>7} {r['seconds']:>8.2f} "
                  f"{r['files'] / r['seconds']:>8.0f} {r['peak_rss_mib']:>7.0f}MiB")
        janus = best["janus"]["seconds"]
        print()
        print(f"ratio janus / bare   (yaml.safe_load + jsonschema):   "
              f"{janus / best['bare']['seconds']:.2f}")
        print(f"ratio janus / bare-c (yaml.CSafeLoader + jsonschema): "
              f"{janus / best['bare-c']['seconds']:.2f}")
        rate = best["janus"]["files"] / janus
        print(f"goal >= 2000 files/s: {'met' if rate >= 2000 else 'MISSED'} ({rate:.0f}); "
              f"goal ratio <= 1.5 vs bare: "
              f"{'met' if janus / best['bare']['seconds'] <= 1.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
