// controlmap serve: keyboard shortcuts on the review queue (a accept, r reject, c comment,
// s skip, u undo) and in-place updates: a form's POST is sent with fetch and the page's
// <main> is replaced by the one the server answers with. Without this file every form
// still works (POST, then a redirect back).
(function () {
  "use strict";

  function replaceMain(html, url) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("main");
    var old = document.getElementById("main");
    if (!fresh || !old) {
      location.href = url || location.href;
      return;
    }
    old.replaceWith(document.adoptNode(fresh));
    document.title = doc.title;
    if (url && url !== location.href) history.replaceState(null, "", url);
    bind(fresh);
  }

  function send(form, submitter) {
    var data = new FormData(form, submitter || undefined);
    document.body.classList.add("busy");
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(data),
      credentials: "same-origin",
    })
      .then(function (r) {
        return r.text().then(function (t) { replaceMain(t, r.url); });
      })
      .catch(function () {
        // Fall back to a plain POST, keeping the button's name and value.
        if (submitter && submitter.name) {
          var h = document.createElement("input");
          h.type = "hidden";
          h.name = submitter.name;
          h.value = submitter.value;
          form.appendChild(h);
        }
        form.submit();
      })
      .finally(function () { document.body.classList.remove("busy"); });
  }

  function bind(root) {
    root.querySelectorAll("form.act").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        send(f, e.submitter);
      });
    });
    var comment = root.querySelector("#comment");
    if (comment) {
      comment.addEventListener("keydown", function (e) {
        // Enter keeps the comment for the next verdict, as in the terminal queue.
        if (e.key === "Enter" || e.key === "Escape") {
          e.preventDefault();
          comment.blur();
        }
      });
    }
  }

  document.addEventListener("keydown", function (e) {
    if (document.body.dataset.page !== "review") return;
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    if (e.key === "c") {
      var c = document.getElementById("comment");
      if (c) {
        e.preventDefault();
        c.focus();
      }
      return;
    }
    if (!/^[arsu]$/.test(e.key)) return;
    var el = document.querySelector('#main [data-key="' + e.key + '"]');
    if (!el || el.disabled) return;
    e.preventDefault();
    if (el.tagName === "A") location.href = el.href;
    else el.click();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var main = document.getElementById("main");
    if (main) bind(main);
  });
})();
