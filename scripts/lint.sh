#!/usr/bin/env bash
# Lint: clang-format (the checked-in .clang-format) over chain/ risk/ keeper/ tests/ bench/, and
# clang-tidy (the checked-in .clang-tidy) over the chain/ risk/ keeper/ .cpp files, using
# build/compile_commands.json. Fails on any format difference and on any clang-tidy finding.
#
# Cost of the whole-tree clang-tidy, measured 2026-12-07 with `time scripts/lint.sh --jobs 2
# --tidy-only` (103 .cpp units, 2-core machine shared with other engineers' builds, load 4-7):
#   44 min wall, 21 min CPU (19m52s user + 1m25s sys), i.e. about 12 s of CPU per unit; on an
#   idle 2-core machine that is about 11 min wall. Too slow for every test run: lint the changed
#   files with --files (a single unit costs 3-17 s of CPU).
# clang-format over the whole tree takes a few seconds.
#
# Usage: scripts/lint.sh [--fix] [--jobs N] [--format-only | --tidy-only] [--files F...]
#   --files F...   lint only these files (.cpp or .hpp; everything after --files is a file).
#                  A header is checked through the .cpp beside it (or one that includes it);
#                  findings are reported only for the named files and the headers beside them.
#   --fix          apply clang-tidy's fixes, then clang-format -i the files; the findings printed
#                  are those found before fixing: run again to see what is left.
#   --jobs N       parallel clang-tidy processes (default: VARKEEPER_JOBS or nproc).
# Needs clang-format, clang-tidy and clang-apply-replacements (LLVM 14 or later; apt-get install
# clang-format clang-tidy clang-tools) and a configured build/ (scripts/build.sh).
#
# Each finding is printed once: clang-tidy sees a header once per translation unit that includes
# it, and through a different path per room (build/include/rooms/<room>/keeper/... links), so the
# findings are keyed by the real path of the file and printed relative to the repository.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

fix=0
do_format=1
do_tidy=1
jobs="${VARKEEPER_JOBS:-$(nproc)}"
files=()
while (($#)); do
  case "$1" in
    --fix) fix=1 ;;
    --jobs) jobs="$2"; shift ;;
    --jobs=*) jobs="${1#--jobs=}" ;;
    --format-only) do_tidy=0 ;;
    --tidy-only) do_format=0 ;;
    --files) shift; files=("$@"); break ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lint.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

for tool in clang-format clang-tidy; do
  if ! command -v "$tool" >/dev/null; then
    echo "lint.sh: $tool not found; install it with: apt-get install clang-format clang-tidy clang-tools" >&2
    exit 2
  fi
done

status=0

# The files to format-check and the translation units to run clang-tidy on.
if ((${#files[@]})); then
  for f in "${files[@]}"; do
    [[ -f "$f" ]] || { echo "lint.sh: no such file: $f" >&2; exit 2; }
  done
  format_files=()
  for f in "${files[@]}"; do
    [[ "$f" =~ \.(cpp|hpp|h)$ ]] && format_files+=("$f")
  done
else
  mapfile -t format_files < <(git ls-files -co --exclude-standard -- \
    'chain/*.cpp' 'chain/*.hpp' 'risk/*.cpp' 'risk/*.hpp' 'keeper/*.cpp' 'keeper/*.hpp' \
    'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp' 'bench/*.hpp')
fi

if ((do_tidy)); then
  if [[ ! -f build/compile_commands.json ]]; then
    echo "lint.sh: build/compile_commands.json is missing; configure first (scripts/build.sh)" >&2
    exit 2
  fi
  if ((fix)) && ! command -v clang-apply-replacements >/dev/null; then
    echo "lint.sh: --fix needs clang-apply-replacements (apt-get install clang-tools)" >&2
    exit 2
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # Which translation units to run, and (with --files) which files to report on.
  python3 - "$here" "$work" "${files[@]}" <<'EOF'
import json, os, re, sys
root, work, named = sys.argv[1], sys.argv[2], sys.argv[3:]
db = json.load(open(os.path.join(root, "build/compile_commands.json")))
units = sorted({os.path.realpath(os.path.join(e["directory"], e["file"])) for e in db})
ours = [u for u in units if re.match(re.escape(root) + r"/(chain|risk|keeper)/", u)]
headers = [os.path.join(dp, n) for top in ("chain", "risk", "keeper")
           for dp, _, names in os.walk(os.path.join(root, top)) for n in names if n.endswith(".hpp")]
if not named:
    run, report = ours, []
else:
    run, report = [], set()
    for f in named:
        f = os.path.realpath(f)
        report.add(f)
        stem, ext = os.path.splitext(f)
        if ext == ".cpp":
            if f not in units:
                sys.exit(f"lint.sh: {os.path.relpath(f, root)} is not in build/compile_commands.json")
            run.append(f)
            report.add(stem + ".hpp")
        elif stem + ".cpp" in units:
            run.append(stem + ".cpp")
        else:  # a header without a .cpp beside it: a unit that includes it, maybe through others
            todo, done, user = [f], set(), None
            while todo and user is None:
                h = todo.pop(0)
                done.add(h)
                rel = os.path.relpath(h, root)
                inc = re.compile(r'#include\s+"(' + re.escape(rel) + "|" + re.escape(os.path.basename(h)) + ')"')
                for c in units + headers:
                    if c not in done and inc.search(open(c, errors="replace").read()):
                        if c in units:
                            user = c
                            break
                        todo.append(c)
            if user is None:
                sys.exit(f"lint.sh: no translation unit includes {os.path.relpath(f, root)}")
            run.append(user)
    run = sorted(set(run))
open(os.path.join(work, "units"), "w").write("\n".join(run) + "\n")
open(os.path.join(work, "report"), "w").write("\n".join(sorted(report)) + ("\n" if report else ""))
EOF
  mkdir -p "$work/out" "$work/fixes"
  # -Wno-unknown-warning-option: the build's flags include GCC-only warnings (-Wno-restrict).
  # shellcheck disable=SC2016
  xargs -a "$work/units" -P "$jobs" -I{} sh -c '
    key=$(printf "%s" "$1" | tr "/" "_")
    clang-tidy -p build --quiet --extra-arg=-Wno-unknown-warning-option \
      ${3:+--export-fixes="$2/fixes/$key.yaml"} "$1" >"$2/out/$key.txt" 2>&1 ||
      echo "$1" >>"$2/failed"
  ' sh {} "$work" "$( ((fix)) && echo 1)"
  if ((fix)); then
    # One path per file, so that a header's fix found by several units is applied once; only the
    # fixes of the findings themselves, as clang-tidy --fix does, not the alternatives offered in
    # their notes (applying both of bugprone-implicit-widening's notes breaks the code); with
    # --files, only the fixes in the named files and the headers beside them.
    python3 - "$work" <<'EOF'
import os, re, sys
work = sys.argv[1]
report = {l for l in open(os.path.join(work, "report")).read().split("\n") if l}
path = re.compile(r"(FilePath:\s*)'([^']*)'")
d = os.path.join(work, "fixes")
for name in os.listdir(d):
    p = os.path.join(d, name)
    text = path.sub(lambda m: m.group(1) + "'" + os.path.realpath(m.group(2)) + "'", open(p).read())
    # export-fixes YAML: a header, then one "  - DiagnosticName:" item per finding.
    if "Diagnostics:\n" not in text:
        continue
    head, _, rest = text.partition("Diagnostics:\n")
    body = rest.rsplit("\n...", 1)[0] + "\n"
    items = [i for i in re.split(r"(?m)^(?=  - DiagnosticName:)", body) if i.strip()]
    items = [re.sub(r"(?ms)^    Notes:\n.*?(?=^    \w)", "", i) for i in items]
    if report:
        items = [i for i in items if all(m[1] in report for m in path.findall(i))]
    text = head + ("Diagnostics:\n" + "".join(items) if items else "Diagnostics: []\n") + "...\n"
    open(p, "w").write(text)
EOF
    if compgen -G "$work/fixes/*.yaml" >/dev/null; then
      clang-apply-replacements --format --style=file "$work/fixes"
    fi
  fi
  # Findings, once each, with paths relative to the repository.
  if ! python3 - "$here" "$work" <<'EOF'; then
import collections, os, re, sys
root, work = sys.argv[1], sys.argv[2]
report = {l for l in open(os.path.join(work, "report")).read().split("\n") if l}
head = re.compile(r"^(/[^:]+):(\d+):(\d+): (warning|error): (.*)$")
seen, groups = set(), []
for name in sorted(os.listdir(os.path.join(work, "out"))):
    group = None
    for line in open(os.path.join(work, "out", name), errors="replace"):
        line = line.rstrip("\n")
        m = head.match(line)
        if m:
            path = os.path.realpath(m.group(1))
            key = (path, int(m.group(2)), int(m.group(3)), m.group(5))
            if key in seen or (report and path not in report):
                group = None
                continue
            seen.add(key)
            check = re.search(r"\[([\w.,-]+)\]$", m.group(5))
            rel = os.path.relpath(path, root)
            group = [key, check.group(1).split(",")[0] if check else "clang-diagnostic-error",
                     [f"{rel}:{m.group(2)}:{m.group(3)}: {m.group(4)}: {m.group(5)}"]]
            groups.append(group)
        elif group is not None and not re.match(r"^\d+ (warnings?|errors?) generated\.$", line) \
                and not line.startswith(("Suppressed ", "Use -header-filter", "Error while processing")):
            group[2].append(line)
groups.sort(key=lambda g: g[0])
for g in groups:
    print("\n".join(g[2]))
if groups:
    by_check = collections.Counter(g[1] for g in groups)
    by_file = collections.Counter(os.path.relpath(g[0][0], root) for g in groups)
    print(f"\nlint.sh: clang-tidy: {len(groups)} findings in {len(by_file)} files")
    for check, n in by_check.most_common():
        print(f"  {n:5d}  {check}")
    sys.exit(1)
EOF
    status=1
  fi
  # clang-tidy exits non-zero only when it could not analyse a unit (a compile error).
  if [[ -s "$work/failed" ]]; then
    echo "lint.sh: clang-tidy could not analyse (compile errors above):" >&2
    sed "s|^$here/|  |" "$work/failed" >&2
    status=1
  fi
fi

# After clang-tidy, so that --fix also formats what its fixes changed.
if ((do_format)) && ((${#format_files[@]})); then
  if ((fix)); then
    clang-format -i "${format_files[@]}"
  elif ! clang-format --dry-run --Werror "${format_files[@]}"; then
    echo "lint.sh: clang-format: the files above differ from .clang-format (scripts/lint.sh --fix)" >&2
    status=1
  fi
fi

if ((status == 0)); then
  echo "lint.sh: clean"
fi
exit "$status"
