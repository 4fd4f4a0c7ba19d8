// idemlab's additions to mdBook: mark the output blocks, tables and sequence diagrams wider than
// the column (`.wide`), so the stylesheet draws their scrollbar and says that they scroll. Run again on resize: what is
// wide depends on the window.
(function () {
    "use strict";
    // A sequence diagram keeps its drawn size: on a narrow screen it scrolls sideways in a
    // frame of its own instead of shrinking until its text cannot be read.
    function frameDiagrams() {
        document.querySelectorAll('main img[src*="generated/seq-"]').forEach(function (img) {
            if (img.parentElement.classList.contains("figure-frame")) return;
            var frame = document.createElement("div");
            frame.className = "figure-frame";
            img.parentElement.insertBefore(frame, img);
            frame.appendChild(img);
        });
    }
    function mark() {
        frameDiagrams();
        // mdBook puts every table in a .table-wrapper that scrolls; say so when it must.
        document.querySelectorAll(".table-wrapper, .figure-frame").forEach(function (box) {
            box.classList.toggle("wide", box.scrollWidth > box.clientWidth + 1);
        });
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
