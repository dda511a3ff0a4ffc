#!/usr/bin/env bash
# Which TensorFlow minor versions the zoo works with, measured (docs/compat.md).
#
#   bash scripts/compat.sh [--write-docs] [--probe] [VERSIONS...]      (default: 2.18 2.19 2.20 2.21)
#
# For each TensorFlow minor 2.X: a new venv with tensorflow==2.X.*, the matching tf-keras==2.X.* and the
# tensorflow-probability release that supports it (the state of a hosted notebook or a course machine);
# then a dry run of `pip install -e ".[test]"` of this checkout, which must keep that TensorFlow, tf-keras,
# Keras and TFP (else the version fails, loudly, and its tests are not run); then the install itself and a
# fast subset of the tests, which needs neither TensorBoard nor the network. First of all, a dry run in an
# empty venv shows what a fresh install gets. Prints one line per version and a markdown table.
#
#   --write-docs  also put the table into docs/compat.md, between its compat-table markers
#   --probe       for a version outside the declared range: install the zoo with --no-deps and its other
#                 requirements (less TensorBoard) with every installed package held, and run the tests
#                 anyway (to see whether the range could be widened); the version still counts as failed
#
# Environment:
#   COMPAT_DIR    work folder (default ${TMPDIR:-/tmp}/zoo-compat): venv-2.X/ and logs, recreated each run,
#                 and wheels/, the downloaded TensorFlow wheels (~600 MB each) kept for reruns
#   PYTHON        the interpreter the venvs are made from (default python3)
#   COMPAT_TESTS  the test files (default below)
#   COMPAT_TFP    the TFP minor to use (e.g. 0.25) for a TensorFlow minor this script does not know
#
# Pin it to cores as you like, e.g. `taskset -c 0 bash scripts/compat.sh 2.19`. Exit status 0 if every
# version passed.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
COMPAT_DIR=${COMPAT_DIR:-${TMPDIR:-/tmp}/zoo-compat}
WHEELS=$COMPAT_DIR/wheels
TESTS=${COMPAT_TESTS:-tests/test_models.py tests/test_layers.py tests/test_inference.py tests/test_evaluate.py tests/test_io.py tests/test_data.py}
# what the zoo's install must never replace: the environment's TensorFlow stack
HELD='^(tensorflow|tensorflow[-_]cpu|tensorflow[-_]intel|tensorflow[-_]probability|tf[-_]keras|keras)-[0-9]'

WRITE_DOCS=0
PROBE=0
VERSIONS=()
for arg in "$@"; do
    case "$arg" in
        --write-docs) WRITE_DOCS=1 ;;
        --probe) PROBE=1 ;;
        -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
        2.[0-9]*) VERSIONS+=("$arg") ;;
        *) echo "compat.sh: unknown argument '$arg' (a TensorFlow minor such as 2.19, --probe, --write-docs)" >&2; exit 2 ;;
    esac
done
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(2.18 2.19 2.20 2.21)

# The TFP release for a TensorFlow minor. TFP checks it when imported (tensorflow_probability/python/__init__.py,
# `required_tensorflow_version`): 0.25 needs TF >= 2.18, 0.24 needs >= 2.16, 0.23 >= 2.15.
tfp_for() {
    if [ -n "${COMPAT_TFP:-}" ]; then echo "$COMPAT_TFP"; return; fi
    case "$1" in
        2.18 | 2.19 | 2.20 | 2.21) echo 0.25 ;;
        2.16 | 2.17) echo 0.24 ;;
        2.15) echo 0.23 ;;
        *) echo "" ;;
    esac
}

mkdir -p "$WHEELS"
SUMMARY=$COMPAT_DIR/summary.txt
TABLE=$COMPAT_DIR/table.md
: >"$SUMMARY"
TODAY=$(date +%Y-%m-%d)
HEADER="| TensorFlow minor | tensorflow | tf-keras | tensorflow-probability | numpy | pip keeps it | tests passed | failed | seconds | date | note |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
ROWS=""
FAILED=0

say() { echo "compat.sh: $*" >&2; }

versions_of() {  # installed versions of the TensorFlow stack and numpy in venv $1, "-" for a missing one
    "$1/bin/python" - <<'EOF'
from importlib.metadata import PackageNotFoundError, version
out = []
for name in ("tensorflow", "tf-keras", "tensorflow-probability", "numpy", "keras"):
    try:
        out.append(version(name))
    except PackageNotFoundError:
        out.append("-")
print(" ".join(out))
EOF
}

zoo_requirements() {  # the zoo's install_requires and test extra, less the TensorFlow stack, one a line
    "$PYTHON" - "$ROOT/setup.cfg" <<'EOF'
import configparser, re, sys
cfg = configparser.ConfigParser()
cfg.read(sys.argv[1])
lines = cfg["options"]["install_requires"].splitlines() + cfg["options.extras_require"]["test"].splitlines()
for line in lines:
    line = line.split("#")[0].strip()
    if line and not re.match(r"(tensorflow|tf-keras|tf_keras|keras)\b", line):
        print(line)
EOF
}

record() {  # record VERSION TF TFK TFP NUMPY KEPT PASSED FAILED SECONDS NOTE
    local line
    line=$(printf '%-5s tensorflow %-7s tf-keras %-7s tfp %-7s numpy %-7s kept %-3s %4s passed %4s failed %6s s  %s' "$@")
    echo "$line" | tee -a "$SUMMARY"
    ROWS+="| $1 | $2 | $3 | $4 | $5 | ${6} | $7 | $8 | $9 | $TODAY | ${10} |"$'\n'
}

fresh_check() {  # what a fresh `pip install -e .` resolves to (a dry run in an empty venv)
    local venv=$COMPAT_DIR/venv-fresh
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv" || return 1
    (cd "$ROOT" && "$venv/bin/python" -m pip install --dry-run -e .) >"$COMPAT_DIR/fresh.dryrun.log" 2>&1
    local would
    would=$(grep '^Would install' "$COMPAT_DIR/fresh.dryrun.log" | tr ' ' '\n' | grep -E "$HELD|^numpy-" | tr '\n' ' ')
    echo "fresh venv: pip install -e . would install: ${would:-(dry run failed: see $COMPAT_DIR/fresh.dryrun.log)}" | tee -a "$SUMMARY"
    rm -rf "$venv"
}

run_one() {
    local minor=$1 tfp venv log before after would replaced passed failed errors seconds start rc kept=yes probed=0
    tfp=$(tfp_for "$minor")
    venv=$COMPAT_DIR/venv-$minor
    log=$COMPAT_DIR/$minor.log
    : >"$log"
    say "TensorFlow $minor: log in $log"
    if [ -z "$tfp" ]; then
        record "$minor" - - - - - - - - "no known TFP release for it (set COMPAT_TFP)"
        return 1
    fi
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv" >>"$log" 2>&1 || { record "$minor" - - - - - - - - "venv failed"; return 1; }
    local pip=("$venv/bin/python" -m pip)
    local stack=("tensorflow==$minor.*" "tf-keras==$minor.*" "tensorflow-probability==$tfp.*")

    # 1. the environment a student has: download once into wheels/ (files already there are not fetched
    # again), then install offline from there
    say "  downloading (once) and installing ${stack[*]}"
    if ! "${pip[@]}" download -q -d "$WHEELS" "${stack[@]}" >>"$log" 2>&1 ||
        ! "${pip[@]}" install -q --no-compile --no-index --find-links "$WHEELS" "${stack[@]}" >>"$log" 2>&1; then
        record "$minor" - - - - - - - - "could not install ${stack[*]}: see $log"
        return 1
    fi
    before=$(versions_of "$venv")

    # 2. the zoo must keep that stack: dry run first
    say "  dry run: pip install -e \".[test]\""
    (cd "$ROOT" && "${pip[@]}" install --dry-run -e ".[test]") >"$COMPAT_DIR/$minor.dryrun.log" 2>&1
    rc=$?
    would=$(grep '^Would install' "$COMPAT_DIR/$minor.dryrun.log")
    replaced=$(echo "$would" | tr ' ' '\n' | grep -E "$HELD" | tr '\n' ' ' | sed 's/ $//')
    echo "  $minor dry run: ${would:-no 'Would install' line (exit $rc)}" >>"$SUMMARY"
    if [ $rc -ne 0 ] || [ -n "$replaced" ]; then
        kept=NO
        say "  FAIL: pip install -e . would replace this environment's TensorFlow stack: ${replaced:-(dry run failed, exit $rc)}"
        say "  (see $COMPAT_DIR/$minor.dryrun.log)"
        if [ $PROBE -eq 0 ]; then
            set -- $before
            record "$minor" "$1" "$2" "$3" "$4" NO - - - "pip would install ${replaced:-?}"
            return 1
        fi
        probed=1
        say "  --probe: installing the zoo with --no-deps and its other requirements with what is installed held"
        # hold everything the environment has (protobuf, tensorboard, ... belong to its TensorFlow too);
        # the test extra's tensorboard is left out: the tests here do not need it
        "${pip[@]}" freeze | grep '==' >"$COMPAT_DIR/$minor.held.txt"
        if ! (cd "$ROOT" && "${pip[@]}" install -q --no-deps -e . &&
            zoo_requirements | grep -v '^tensorboard' |
            xargs "${pip[@]}" install -q -c "$COMPAT_DIR/$minor.held.txt") >>"$log" 2>&1; then
            set -- $before
            record "$minor" "$1" "$2" "$3" "$4" NO - - - "probe install failed: see $log"
            return 1
        fi
    else
        say "  installing the zoo: pip install -e \".[test]\""
        if ! (cd "$ROOT" && "${pip[@]}" install -q -e ".[test]") >>"$log" 2>&1; then
            set -- $before
            record "$minor" "$1" "$2" "$3" "$4" yes - - - "pip install -e .[test] failed: see $log"
            return 1
        fi
    fi
    after=$(versions_of "$venv")
    if [ "$before" != "$after" ] && [ "$kept" = yes ]; then
        kept=NO  # the stack or numpy changed despite the dry run
        say "  FAIL: the install changed the stack: $before -> $after"
    fi

    # 3. the tests
    say "  running the tests: python -m pytest -n 0 -q $TESTS"
    start=$(date +%s)
    # shellcheck disable=SC2086  # TESTS is a list of files
    (cd "$ROOT" && "$venv/bin/python" -m pytest -n 0 -q -p no:cacheprovider $TESTS) >"$COMPAT_DIR/$minor.pytest.log" 2>&1
    rc=$?
    seconds=$(($(date +%s) - start))
    local last
    last=$(tail -n 1 "$COMPAT_DIR/$minor.pytest.log")
    passed=$(grep -oE '[0-9]+ passed' <<<"$last" | cut -d' ' -f1)
    failed=$(grep -oE '[0-9]+ failed' <<<"$last" | cut -d' ' -f1)
    errors=$(grep -oE '[0-9]+ errors?' <<<"$last" | cut -d' ' -f1)
    failed=$((${failed:-0} + ${errors:-0}))
    set -- $after
    local note="pytest exit $rc"
    [ $rc -eq 0 ] && note=ok
    if [ $rc -ne 0 ]; then  # which tests failed, by test function: "7x tests/test_io.py::test_..."
        local which
        which=$(grep -E '^(FAILED|ERROR) ' "$COMPAT_DIR/$minor.pytest.log" | sed -E 's/^(FAILED|ERROR) //; s/\[.*//; s/ - .*//' |
            sort | uniq -c | awk '{printf "%s%sx %s", (NR > 1 ? ", " : ""), $1, $2}')
        # none collected (e.g. `import zoo` failed): the first error line instead
        [ -n "$which" ] || which=$(grep -m 1 -E '^E ' "$COMPAT_DIR/$minor.pytest.log" | sed -E 's/^E +//' | cut -c 1-200)
        note="$note: $which"
    fi
    if [ $probed -eq 1 ]; then
        note="$note; outside the declared range (pip would install ${replaced:-?}), tested with --probe"
    elif [ "$kept" != yes ]; then
        note="$note; the install changed the stack: $before -> $after"
    fi
    record "$minor" "$1" "$2" "$3" "$4" "$kept" "${passed:-0}" "$failed" "$seconds" "$note"
    [ $rc -eq 0 ] && [ "$kept" = yes ]
}

say "checkout $ROOT, work folder $COMPAT_DIR, versions ${VERSIONS[*]}, tests: $TESTS"
fresh_check
for minor in "${VERSIONS[@]}"; do
    run_one "$minor" || FAILED=1
done

printf '%s\n%s' "$HEADER" "$ROWS" >"$TABLE"
echo
echo "Results (bash scripts/compat.sh ${VERSIONS[*]}; logs in $COMPAT_DIR):"
cat "$SUMMARY"
echo
cat "$TABLE"

if [ $WRITE_DOCS -eq 1 ]; then
    "$PYTHON" - "$ROOT/docs/compat.md" "$TABLE" <<'EOF' || FAILED=1
import re, sys
doc, table = sys.argv[1], open(sys.argv[2]).read().strip()
text = open(doc).read()
start, end = "<!-- compat-table:start -->", "<!-- compat-table:end -->"
if start not in text or end not in text:
    sys.exit(f"compat.sh: {doc} has no {start} ... {end} block to write the table into")
text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: f"{start}\n{table}\n{end}", text, flags=re.S)
open(doc, "w").write(text)
print(f"wrote the table into {doc}")
EOF
fi
exit $FAILED
