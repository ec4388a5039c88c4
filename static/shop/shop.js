/* Demo Shop: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("DOMContentLoaded", function () {
    // Sort menus apply on change; their "Apply" button is only needed without JavaScript.
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () {
        select.form.submit();
      });
    });

    // Gallery thumbnails scroll the picture strip sideways instead of jumping the whole page.
    document.querySelectorAll(".gallery").forEach(function (gallery) {
      var strip = gallery.querySelector(".gallery-main");
      var links = gallery.querySelectorAll(".gallery-thumbs a");
      if (!strip || !links.length) {
        return;
      }
      function mark(current) {
        links.forEach(function (link) {
          link.setAttribute("aria-current", link === current ? "true" : "false");
        });
      }
      links.forEach(function (link) {
        link.addEventListener("click", function (event) {
          var slide = document.getElementById(link.getAttribute("href").slice(1));
          if (!slide) {
            return;
          }
          event.preventDefault();
          var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
          strip.scrollTo({ left: slide.offsetLeft, behavior: still ? "auto" : "smooth" });
          mark(link);
        });
      });
      mark(links[0]);
    });
  });
})();
