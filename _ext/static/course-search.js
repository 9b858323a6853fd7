/* Search snippets without maths delimiters (added to every page by _ext/reader_layout.py).
   Sphinx's search builds each result's snippet from the text of the page's HTML, where the maths
   is still TeX between \( \) or \[ \] (MathJax typesets it only when the page is shown), so a
   snippet read "\(\varepsilon / C\)". This drops the delimiters: "\varepsilon / C". */
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
  const htmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) =>
    htmlToText(htmlString, anchor)
      .replace(/\\[()[\]]/g, "")
      .replace(/\\begin\{(equation|align|split|gather|multline)\*?\}|\\end\{(equation|align|split|gather|multline)\*?\}/g, "");
});
