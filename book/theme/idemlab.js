// idemlab's additions to mdBook: mark the output blocks wider than the column (`pre.wide`), so
// the stylesheet draws their scrollbar and says that they scroll. Run again on resize: what is
// wide depends on the window.
(function () {
    "use strict";
    function mark() {
        document.querySelectorAll("pre > code").forEach(function (code) {
            code.parentElement.classList.toggle("wide", code.scrollWidth > code.clientWidth + 1);
        });
        document.querySelectorAll(".tui-frame > .tui-screen").forEach(function (screen) {
            screen.parentElement.classList.toggle("wide", screen.scrollWidth > screen.clientWidth + 1);
        });
    }
    window.addEventListener("load", mark);
    window.addEventListener("resize", mark);
})();
