/* Figures on a phone. The column is about 358 px wide there, and a course figure shrunk to it
   would show its smallest text (ce_lib.style.MIN_FONT_PT = 11 pt, drawn at ce_lib.style.DPI =
   150 dpi) at 7 to 8 px. Below 600 px, each figure of the content keeps at least SCALE of its
   natural width, so that text stays at the page's small print (ce_lib.style.MIN_TEXT_PX =
   12 px), and scrolls sideways inside its own box (course-layout.css); the page does not.
   SCALE = MIN_TEXT_PX / (MIN_FONT_PT * DPI / 72) = 12 / (11 * 150 / 72) = 0.524, rounded up;
   tests/test_style.py checks it against the style. tools/check_site.py checks the result. */
(() => {
  const SCALE = 0.53;
  const phone = window.matchMedia("(max-width: 600px)");
  const FIGURES = ".bd-article .cell_output img, .bd-article figure img";

  function fit(img) {
    if (!img.naturalWidth) return;
    img.style.width = phone.matches ? `${Math.ceil(img.naturalWidth * SCALE)}px` : "";
    img.style.maxWidth = phone.matches ? "none" : "";
  }

  function fitAll() {
    for (const img of document.querySelectorAll(FIGURES)) {
      if (img.complete) fit(img);
      else img.addEventListener("load", () => fit(img), { once: true });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fitAll);
  else fitAll();
  phone.addEventListener("change", fitAll);
})();
