#!/usr/bin/env bash
# Re-vendor MathJax 3 into _static_extra/mathjax/ so the book typesets maths offline.
#
# Why: by default Sphinx loads MathJax from a CDN; offline (or in the headless
# browser check) the maths would stay raw \( ... \). The files live in the
# repository (about 2 MB); run this only to change the MathJax version.
#
# Why _static_extra/ and not _static/: every .js file under _static is added as
# a <script> tag to every page. _static_extra/ is copied as-is by
# `html_extra_path` in _config.yml, and `mathjax_path` points at the one file.
#
# Usage: tools/vendor_mathjax.sh [VERSION]     (needs npm and the npm registry)
set -euo pipefail

version="${1:-3.2.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/_static_extra/mathjax"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "mathjax@$version" >/dev/null && tar -xzf mathjax-"$version".tgz)
es5="$work/package/es5"

rm -rf "$dest"
mkdir -p "$dest/output/chtml/fonts" "$dest/input/tex"
cp "$es5/tex-mml-chtml.js" "$dest/"
cp -r "$es5/output/chtml/fonts/woff-v2" "$dest/output/chtml/fonts/"
cp -r "$es5/input/tex/extensions" "$dest/input/tex/"
cp "$work/package/LICENSE" "$dest/LICENSE"
echo "MathJax $version" > "$dest/VERSION"

echo "vendored MathJax $version into ${dest#"$root"/} ($(du -sh "$dest" | cut -f1))"
