#!/usr/bin/env bash
# Mutation testing of the pure decision modules (issue 11 item 12; `make mutation`, not in CI).
#
#   scripts/mutation.sh                 # every module below
#   scripts/mutation.sh approval        # one (approval | evaluate | lifecycle | codeowners)
#
# Each module is mutated by mutmut (pinned in the test extra) and judged by its own fast unit
# tests only, so a run fits on two shared cores. mutmut works on a copy: janus/, tests/ and
# pyproject.toml are copied to $MUTATION_DIR/<module> (default ~/.cache/janus/mutation), never
# mutated in place; a setup.cfg there names the one file and its tests. The score printed is
# detected / judged, where detected = killed + timeout (a mutant that makes its tests hang,
# e.g. an endless loop, is caught by the timeout) and judged = detected + survived + suspicious +
# no tests; docs/development.md lists the survivors accepted as equivalent, with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
venv=${VENV:-$root/.venv}
work=${MUTATION_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/janus/mutation}
jobs=${MUTATION_JOBS:-2}

declare -A source=(
    [approval]=janus/policy/approval.py
    [evaluate]=janus/policy/evaluate.py
    [lifecycle]=janus/controller/lifecycle.py
    [codeowners]=janus/policy/codeowners.py
)
declare -A tests=(
    [approval]=tests/unit/policy/test_approval.py
    [evaluate]=tests/unit/policy/test_evaluate.py
    [lifecycle]=tests/unit/controller/test_lifecycle.py
    [codeowners]=tests/unit/policy/test_codeowners.py
)

modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(approval evaluate lifecycle codeowners)

for m in "${modules[@]}"; do
    src=${source[$m]:?unknown module $m (approval | evaluate | lifecycle | codeowners)}
    dir=$work/$m
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r janus tests pyproject.toml "$dir/"
    find "$dir" -name __pycache__ -prune -exec rm -rf {} +
    cat > "$dir/setup.cfg" <<CFG
[mutmut]
source_paths=janus
only_mutate=$src
pytest_add_cli_args_test_selection=${tests[$m]}
pytest_add_cli_args=-p no:cacheprovider -q
CFG
    # pyproject.toml must not carry a [tool.mutmut] table, or mutmut ignores setup.cfg.
    (cd "$dir" && "$venv/bin/mutmut" run --max-children "$jobs" >run.log 2>&1) || {
        tail -20 "$dir/run.log"; exit 1; }
    (cd "$dir" && "$venv/bin/mutmut" results --all true >results.txt 2>&1 || true)
    python3 - "$m" "$dir/results.txt" <<'PY'
import collections, sys
name, path = sys.argv[1], sys.argv[2]
counts = collections.Counter()
survivors = []
for line in open(path, encoding="utf-8"):
    if ":" not in line:
        continue
    mutant, _, status = line.strip().rpartition(": ")
    counts[status] += 1
    if status in ("survived", "suspicious", "no tests"):
        survivors.append(f"  {status}: {mutant}")
detected = counts["killed"] + counts["timeout"]
judged = detected + counts["survived"] + counts["suspicious"] + counts["no tests"]
score = 100 * detected / judged if judged else 0.0
print(f"{name}: {detected}/{judged} detected = {score:.1f} %  {dict(counts)}")
print("\n".join(survivors))
PY
done
