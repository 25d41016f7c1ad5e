#!/usr/bin/env bash
# Runs the BenchmarkDotNet benchmarks with a short job and fails when one allocates more bytes per operation than its
# budget in benchmarks/allocation-budgets.json, or when a benchmark has no budget, or a budgeted one did not run.
#   benchmarks/check-allocations.sh                 # all benchmarks, --job short
#   benchmarks/check-allocations.sh --filter '*Cdb*' # extra arguments go to BenchmarkDotNet (the budget check then
#                                                     # covers only the benchmarks that ran)
# ALLOCATION_BUDGETS=FILE checks against another budget file; BENCH_TIMEOUT_SECONDS bounds the run (default 1800).
# Output: the BDN summary tables, then one line per benchmark: name, allocated B/op, budget, OK/OVER.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
budgets=${ALLOCATION_BUDGETS:-$root/benchmarks/allocation-budgets.json}
project=$root/benchmarks/Scst.Benchmarks/Scst.Benchmarks.csproj
artifacts=$(mktemp -d /tmp/scst-bdn.XXXXXX)
trap 'rm -rf "$artifacts"' EXIT

args=("$@")
filtered=0
for a in "${args[@]}"; do [[ $a == --filter || $a == -f ]] && filtered=1; done
[[ $filtered -eq 1 ]] || args+=(--filter '*')

dotnet build -c Release "$project" -nologo -v q
# Every run is bounded in time: the whole short-job suite takes a few minutes.
timeout --signal=KILL "${BENCH_TIMEOUT_SECONDS:-1800}" \
  dotnet "$root/benchmarks/Scst.Benchmarks/bin/Release/net10.0/Scst.Benchmarks.dll" \
  --job short --exporters json --artifacts "$artifacts" "${args[@]}"

python3 - "$budgets" "$artifacts/results" "$filtered" <<'PY'
import glob, json, sys

budgets = json.load(open(sys.argv[1]))["budgets"]
filtered = sys.argv[3] == "1"
measured = {}
for path in glob.glob(sys.argv[2] + "/*.json"):
    for b in json.load(open(path)).get("Benchmarks", []):
        name = f'{b["Namespace"]}.{b["Type"]}.{b["Method"]}'
        if b.get("Parameters"):
            name += "(" + b["Parameters"] + ")"
        memory = b.get("Memory") or {}
        measured[name] = memory.get("BytesAllocatedPerOperation")

failed = False
print()
print(f'{"benchmark":70} {"B/op":>8} {"budget":>8}')
for name in sorted(set(budgets) | set(measured)):
    got, budget = measured.get(name), budgets.get(name)
    if got is None:
        if filtered and name not in measured:
            continue
        verdict, failed = "MISSING (did not run or no MemoryDiagnoser data)", True
    elif budget is None:
        verdict, failed = "NO BUDGET (add it to allocation-budgets.json)", True
    elif got > budget:
        verdict, failed = "OVER", True
    else:
        verdict = "OK"
    print(f'{name:70} {"-" if got is None else got:>8} {"-" if budget is None else budget:>8}  {verdict}')
sys.exit(1 if failed else 0)
PY
