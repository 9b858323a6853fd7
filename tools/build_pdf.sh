#!/usr/bin/env bash
# Build the book's PDF edition: _build/latex/cross-entropy-course.pdf.
#
# Usage: tools/build_pdf.sh              build it (strict, like the site: any warning fails)
#        tools/build_pdf.sh --check-tex  exit 0 if the TeX tools it needs are installed, else
#                                        print what is missing and exit 1
#
# jupyter-book's LaTeX builder (XeLaTeX via latexmk), from the same sources as the site.
# Debian packages: see TEX_PACKAGES below (about 430 MB). The next HTML build (./course build)
# copies the PDF into the site and links it (_ext/pdf_edition.py).
#
# Runs from the book root given by the current directory, with the venv .venv of this
# repository (or $VENV); ./course pdf and ./course test call it.
set -euo pipefail

TEX_PACKAGES="texlive-xetex texlive-latex-extra texlive-fonts-recommended texlive-plain-generic latexmk fonts-freefont-otf"
PDF=cross-entropy-course.pdf   # _config.yml: latex.latex_documents.targetname, with .pdf
venv="${VENV:-$(cd "$(dirname "$0")/.." && pwd)/.venv}"

missing=()
for tool in xelatex latexmk makeindex; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
# the fonts the LaTeX template asks for (fonts-freefont-otf), found by XeLaTeX via fontconfig
if command -v fc-list >/dev/null && ! fc-list : family | grep -q FreeSerif; then
  missing+=("the FreeSerif font")
fi
if [[ "${1:-}" == "--check-tex" ]]; then
  if (( ${#missing[@]} )); then
    echo "missing: ${missing[*]} (sudo apt-get install $TEX_PACKAGES)"
    exit 1
  fi
  exit 0
fi
if (( ${#missing[@]} )); then
  echo "PDF edition: missing ${missing[*]}; install: sudo apt-get install $TEX_PACKAGES" >&2
  exit 1
fi

# A fresh _build/latex: the LaTeX Makefile compiles every .tex it finds there, stale ones too.
# --all: a fresh read of every page, so that every warning is repeated (and fails, with -W).
rm -rf _build/latex
mkdir -p _build
log=_build/pdf-build.log
if ! "$venv/bin/jupyter-book" build -W -n --keep-going --all --builder pdflatex . >"$log" 2>&1; then
  grep -E "WARNING|ERROR|^!|Error" "$log" | grep -v "errorbars.code.tex" | head -40 >&2 || true
  echo "PDF edition: FAILED; full log $log, LaTeX log _build/latex/${PDF%.pdf}.log" >&2
  exit 1
fi

pdf="_build/latex/$PDF"
if [[ ! -s "$pdf" ]] || [[ "$(head -c 5 "$pdf")" != "%PDF-" ]]; then
  echo "PDF edition: FAILED, $pdf is missing or not a PDF (log: $log)" >&2
  exit 1
fi
# Check that it opens: pdfinfo (poppler-utils) parses it and counts its pages.
if command -v pdfinfo >/dev/null; then
  if ! pages="$(pdfinfo "$pdf" 2>&1 | awk '/^Pages:/ {print $2}')" || [[ -z "$pages" ]]; then
    echo "PDF edition: FAILED, pdfinfo cannot read $pdf" >&2
    exit 1
  fi
  echo "PDF edition: $pdf ($pages pages, $(du -h "$pdf" | cut -f1)); log $log"
else
  echo "PDF edition: $pdf ($(du -h "$pdf" | cut -f1)); log $log (install poppler-utils to check that it opens)"
fi
