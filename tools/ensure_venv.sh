#!/usr/bin/env bash
# Create or refresh the project's virtual environment .venv.
#
# Usage: tools/ensure_venv.sh build|test
#
#   build  installs requirements.txt (what a learner needs to run and build the book)
#   test   installs requirements.txt and every requirements-*.txt present (none today:
#          a new set of packages for the tests needs only its file and its pins)
#
# Both install with -c constraints.txt (every package pinned; torch pinned exactly, since a
# looser pin downloads a multi-GB CUDA build) and then the course's own package ce_lib
# (`pip install -e . --no-deps`).
#
# The pip step is skipped when nothing changed: a stamp file inside .venv records the sha256
# of requirements*.txt, constraints*.txt, pyproject.toml, setup.py, the C source of ce_lib's
# compiled kernel (rebuilt by the editable install) and the Python version. One stamp per
# mode, so `build` and `test` never undo each other's work.
#
# PYTHON (default python3.11) chooses the interpreter that creates the venv.
set -euo pipefail

mode="${1:?usage: tools/ensure_venv.sh build|test}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv=.venv
python="${PYTHON:-python3.11}"

case "$mode" in
  build) req_files=(requirements.txt) ;;
  test)  req_files=(requirements.txt)
         for f in requirements-*.txt; do [[ -e "$f" ]] && req_files+=("$f"); done ;;
  *) echo "ensure_venv: unknown mode '$mode' (build or test)" >&2; exit 2 ;;
esac

if [[ ! -x "$venv/bin/python" ]]; then
  command -v "$python" >/dev/null || {
    echo "ensure_venv: $python not found; install Python 3.11 (or set PYTHON=...)" >&2; exit 1; }
  echo "creating $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi

# Everything that decides what gets installed, in a stable order.
fingerprint() {
  "$venv/bin/python" --version
  sha256sum requirements*.txt constraints*.txt pyproject.toml setup.py ce_lib/*.c 2>/dev/null
}
stamp="$venv/.course-stamp-$mode"
want="$(fingerprint | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0   # up to date: nothing to do
fi

echo "installing ${req_files[*]} into $venv (constraints.txt pins every version)"
rm -f "$stamp"
pip_args=(--quiet --progress-bar off)
req_args=()
for f in "${req_files[@]}"; do req_args+=(-r "$f"); done
"$venv/bin/python" -m pip install "${pip_args[@]}" "${req_args[@]}" -c constraints.txt
"$venv/bin/python" -m pip install "${pip_args[@]}" -e . --no-deps
echo "$want" > "$stamp"
echo "$venv is ready"
