#!/usr/bin/env bash
# Build the published edition: the site and its PDF, from the last commit only, into one
# folder ready for any static host.
#
# Usage: tools/publish.sh [DIR]      (./course publish [DIR]; default DIR: _build/publish)
#
#   1. exports HEAD (git archive) into a temporary folder, so that uncommitted or untracked
#      files cannot leak into what is published;
#   2. builds the PDF edition and then the site there, both strictly (any warning fails),
#      with this repository's .venv; ce_lib is imported from the export too (PYTHONPATH);
#   3. copies the site, with the PDF at its root (cross-entropy-course.pdf), to DIR and adds
#      .nojekyll (GitHub Pages must serve the _static/ and _images/ folders as they are);
#   4. runs the browser check on DIR served under a sub-path (/cross-entropy-course/, as a
#      GitHub Pages project site is), offline: every link must be relative to work there.
#
# DIR is replaced: it must not exist, be empty, or hold an earlier publication.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
out="${1:-_build/publish}"

if [[ -e "$out" ]]; then
  if [[ -n "$(ls -A "$out")" && ! ( -f "$out/.nojekyll" && -f "$out/index.html" ) ]]; then
    echo "publish: $out is not empty and holds no earlier publication; not replacing it" >&2
    exit 1
  fi
fi
git rev-parse --verify -q HEAD >/dev/null || { echo "publish: no commit to publish" >&2; exit 1; }
commit="$(git rev-parse --short HEAD)"
if [[ -n "$(git status --porcelain)" ]]; then
  echo "publish: note: the working tree has changes; they are NOT published (only $commit is)"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/course-publish.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
git archive --format=tar HEAD | tar -x -C "$tmp"
echo "publish: building commit $commit in $tmp"

(
  cd "$tmp"
  export PYTHONPATH="$tmp${PYTHONPATH:+:$PYTHONPATH}"   # autodoc imports the exported ce_lib
  where="$("$repo/.venv/bin/python" -c 'import ce_lib, os; print(os.path.dirname(ce_lib.__file__))')"
  [[ "$where" == "$tmp/ce_lib" ]] || { echo "publish: ce_lib imported from $where, not the export" >&2; exit 1; }
  VENV="$repo/.venv" "$repo/tools/build_pdf.sh"
  "$repo/.venv/bin/jupyter-book" build -W -n --keep-going --all . >_build/html-build.log 2>&1 || {
    tail -30 _build/html-build.log >&2; echo "publish: the site build failed" >&2; exit 1; }
)
[[ -f "$tmp/_build/html/cross-entropy-course.pdf" ]] || {
  echo "publish: the site has no cross-entropy-course.pdf" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
cp -a "$tmp/_build/html/." "$out/"
rm -f "$out/.buildinfo"          # Sphinx's incremental-build stamp: not for the web
touch "$out/.nojekyll"
printf '%s\n' "$commit" > "$out/.commit"
echo "publish: $out ($(du -sh "$out" | cut -f1)), commit $commit"

# Check it as a visitor would: served under a sub-path, offline, in headless Chromium.
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$chromium" ]]; then
  "$repo/.venv/bin/python" tools/check_site.py --site "$out" --chromium "$chromium" \
    --base-path /cross-entropy-course/ --require-pdf --screenshots "$tmp/screenshots"
else
  echo "publish: browser check SKIPPED, no Chromium at $chromium"
fi
cat <<TXT

Published to $out. Deploy it to any static host; for GitHub Pages (branch gh-pages):

  git -C $out init -q -b gh-pages && git -C $out add -A && git -C $out commit -qm "Publish $commit"
  git -C $out push -f https://github.com/OWNER/REPO.git gh-pages

then Settings > Pages > Deploy from a branch: gh-pages, / (root). README.md, "Publishing".
TXT
