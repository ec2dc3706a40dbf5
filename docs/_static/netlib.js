// Label every box that scrolls sideways (a wide table or formula) so that the
// reader knows there is more of it: "scroll sideways for more ->".
(function () {
  const selector = ".pst-scrollable-table-container, " +
    "mjx-container[display=\"true\"], .cell_output .output";
  function label() {
    document.querySelectorAll(selector).forEach((box) => {
      box.classList.toggle("netlib-scrolls", box.scrollWidth > box.clientWidth + 1);
    });
  }
  window.addEventListener("load", () => {
    label();
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(label);
    }
  });
  window.addEventListener("resize", label);
})();
