/* zoo catalogue: the searchable, filterable list of weights (index.html).
 *
 * Vanilla JavaScript, no dependencies, no network: the data is the script
 * data/catalogue.js (window.ZOO_CATALOGUE), loaded by a <script> tag so that the page
 * works from file://. Registry values reach the page only through textContent and
 * element properties, never as HTML. The state (search, filters, sort, page) lives in
 * the URL's #fragment, so a filtered view can be linked and the back button works.
 *
 * For measurements (bench/catalogue.py and the tests): window.ZOO_READY is the
 * performance.now() at which the first page of rows was drawn, and
 * window.ZOO_LAST_RENDER describes the latest redraw ({started, rendered, painted,
 * matched, shown}).
 */
(function () {
  "use strict";

  var PAGE_SIZE = 100;
  var FILTERS = ["modality", "task", "licence", "commercial", "dataset", "status", "plugin"];
  var NO_PLUGIN = "(none: registered by a user)";

  var summary = document.getElementById("summary");
  var data = window.ZOO_CATALOGUE;
  if (!data || !data.rows) {
    summary.textContent = "The catalogue data (data/catalogue.js) is missing: rebuild with `zoo catalogue build`.";
    return;
  }
  var F = {};
  data.fields.forEach(function (name, i) { F[name] = i; });
  var rows = data.rows;
  var n = rows.length;

  // What a search matches: one lower-case string per row, built once.
  var hay = new Array(n);
  for (var i = 0; i < n; i++) {
    var r = rows[i];
    hay[i] = [
      r[F.name] + "@" + r[F.version], r[F.arch], r[F.publisher] || "", r[F.plugin] || "", r[F.licence],
      r[F.task], r[F.modality], r[F.trained].join(" "), r[F.evaluated].join(" "), r[F.tags].join(" "),
      r[F.aliases].join(" ")
    ].join(" ").toLowerCase();
  }

  function valuesOf(r, key) {
    switch (key) {
      case "dataset": return r[F.trained].concat(r[F.evaluated]);
      case "plugin": return [r[F.plugin] === null ? NO_PLUGIN : r[F.plugin]];
      case "commercial": return [r[F.effective]];
      default: return [r[F[key]]];
    }
  }

  // -- the filters' options, with counts over the whole catalogue
  var selects = {};
  FILTERS.forEach(function (key) {
    var select = document.querySelector('select[data-filter="' + key + '"]');
    selects[key] = select;
    var counts = {};
    for (var i = 0; i < n; i++) {
      valuesOf(rows[i], key).forEach(function (v) { counts[v] = (counts[v] || 0) + 1; });
    }
    Object.keys(counts).sort().forEach(function (v) {
      var option = document.createElement("option");
      option.value = v;
      option.textContent = v + " (" + counts[v] + ")";
      select.appendChild(option);
    });
  });

  // -- state <-> URL fragment
  var state = { q: "", sort: "name", page: 1 };
  FILTERS.forEach(function (key) { state[key] = ""; });

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    state.q = params.get("q") || "";
    state.sort = params.get("sort") || "name";
    state.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
    FILTERS.forEach(function (key) { state[key] = params.get(key) || ""; });
  }

  function writeHash() {
    var params = new URLSearchParams();
    if (state.q) params.set("q", state.q);
    FILTERS.forEach(function (key) { if (state[key]) params.set(key, state[key]); });
    if (state.sort !== "name") params.set("sort", state.sort);
    if (state.page > 1) params.set("page", String(state.page));
    var text = params.toString();
    var url = location.pathname + location.search + (text ? "#" + text : "");
    history.replaceState(null, "", url);
  }

  function syncControls() {
    var q = document.getElementById("q");
    if (q.value !== state.q) q.value = state.q;
    FILTERS.forEach(function (key) {
      var select = selects[key];
      if (state[key] && !Array.prototype.some.call(select.options, function (o) { return o.value === state[key]; })) {
        var option = document.createElement("option"); // a value linked to but absent here: 0 rows
        option.value = state[key];
        option.textContent = state[key] + " (0)";
        select.appendChild(option);
      }
      select.value = state[key];
    });
    document.querySelectorAll("th[data-sort]").forEach(function (th) {
      var sorted = th.getAttribute("data-sort") === state.sort;
      th.classList.toggle("sorted", sorted);
      if (sorted) th.setAttribute("aria-sort", state.sort === "params" ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
  }

  // -- matching and sorting
  var STATUS_ORDER = { active: 0, deprecated: 1, revoked: 2 };
  var SORTS = {
    name: null, // the data is already ordered by name and version
    licence: function (a, b) { return cmp(rows[a][F.licence], rows[b][F.licence]) || a - b; },
    notes: function (a, b) { return rows[a][F.notes] - rows[b][F.notes] || a - b; },
    params: function (a, b) { return (rows[b][F.params] || 0) - (rows[a][F.params] || 0) || a - b; },
    status: function (a, b) { return STATUS_ORDER[rows[b][F.status]] - STATUS_ORDER[rows[a][F.status]] || a - b; }
  };
  function cmp(x, y) { return x < y ? -1 : x > y ? 1 : 0; }

  function matching() {
    var terms = state.q.toLowerCase().split(/\s+/).filter(Boolean);
    var active = FILTERS.filter(function (key) { return state[key]; });
    var out = [];
    for (var i = 0; i < n; i++) {
      var h = hay[i], ok = true;
      for (var t = 0; t < terms.length; t++) {
        if (h.indexOf(terms[t]) < 0) { ok = false; break; }
      }
      if (!ok) continue;
      for (var f = 0; f < active.length; f++) {
        if (valuesOf(rows[i], active[f]).indexOf(state[active[f]]) < 0) { ok = false; break; }
      }
      if (ok) out.push(i);
    }
    var sorter = SORTS[state.sort];
    if (sorter) out.sort(sorter);
    return out;
  }

  // -- drawing
  var tbody = document.querySelector("#weights tbody");
  var pager = document.getElementById("pager");

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function link(href, text) {
    var a = el("a", text);
    a.setAttribute("href", href);
    return a;
  }

  function params(p) {
    if (p === null || p === undefined) return "";
    return p >= 100000 ? (p / 1e6).toFixed(1) + "M" : (p / 1e3).toFixed(1) + "K";
  }

  function rowElement(i) {
    var r = rows[i];
    var tr = document.createElement("tr");
    var name = el("td", null, "name");
    name.appendChild(link(r[F.page], r[F.name] + "@" + r[F.version]));
    if (r[F["default"]]) name.appendChild(el("span", "default", "badge flag-default"));
    tr.appendChild(name);
    tr.appendChild(el("td", r[F.arch]));
    tr.appendChild(el("td", r[F.modality]));
    tr.appendChild(el("td", r[F.task]));
    tr.appendChild(el("td", r[F.licence], "mono"));
    var use = el("td");
    var badge = el("span", r[F.effective], "badge use-" + r[F.effective]);
    badge.title = "the licence alone: " + r[F.commercial] + "; all things considered (data, parents): " + r[F.effective];
    use.appendChild(badge);
    tr.appendChild(use);
    var trained = el("td");
    r[F.trained].forEach(function (d, k) {
      if (k) trained.appendChild(document.createTextNode(", "));
      var page = data.datasets[d];
      trained.appendChild(page ? link(page, d) : el("span", d));
    });
    tr.appendChild(trained);
    tr.appendChild(el("td", r[F.notes] ? r[F.notes] : "none", r[F.notes] ? "num" : "num alert-text"));
    tr.appendChild(el("td", params(r[F.params]), "num"));
    var status = el("td");
    status.appendChild(el("span", r[F.status], "badge status-" + r[F.status]));
    tr.appendChild(status);
    var plugin = el("td");
    if (r[F.plugin] !== null) {
      var pp = data.plugins[r[F.plugin]];
      plugin.appendChild(pp ? link(pp, r[F.plugin]) : el("span", r[F.plugin]));
    }
    tr.appendChild(plugin);
    return tr;
  }

  function pageButton(label, page, disabled) {
    var b = el("button", label);
    b.type = "button";
    b.disabled = disabled;
    b.addEventListener("click", function () { state.page = page; update(); window.scrollTo(0, 0); });
    return b;
  }

  function render(started) {
    var found = matching();
    var pages = Math.max(1, Math.ceil(found.length / PAGE_SIZE));
    if (state.page > pages) state.page = pages;
    var first = (state.page - 1) * PAGE_SIZE;
    var shown = found.slice(first, first + PAGE_SIZE);
    var fragment = document.createDocumentFragment();
    shown.forEach(function (i) { fragment.appendChild(rowElement(i)); });
    tbody.replaceChildren(fragment);
    if (!found.length) {
      var tr = el("tr");
      var td = el("td", n ? "No weights match." : "The registry holds no weights yet.", "empty");
      td.colSpan = 11;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    summary.textContent = found.length === n
      ? n + " weights" + (n > shown.length ? "; showing " + (shown.length ? first + 1 : 0) + "–" + (first + shown.length) : "")
      : found.length + " of " + n + " weights match" +
        (found.length > shown.length ? "; showing " + (shown.length ? first + 1 : 0) + "–" + (first + shown.length) : "");
    pager.replaceChildren();
    if (pages > 1) {
      pager.appendChild(pageButton("« previous", state.page - 1, state.page <= 1));
      pager.appendChild(el("span", "page " + state.page + " of " + pages, "page-no"));
      pager.appendChild(pageButton("next »", state.page + 1, state.page >= pages));
    }
    syncControls();
    var record = { started: started, rendered: performance.now(), painted: null, matched: found.length, shown: shown.length };
    window.ZOO_LAST_RENDER = record;
    requestAnimationFrame(function () { setTimeout(function () { record.painted = performance.now(); }, 0); });
    return record;
  }

  function update(started) {
    writeHash();
    return render(started === undefined ? performance.now() : started);
  }

  // -- events
  var q = document.getElementById("q");
  q.addEventListener("input", function (event) {
    state.q = q.value;
    state.page = 1;
    update(event.timeStamp);
  });
  FILTERS.forEach(function (key) {
    selects[key].addEventListener("change", function (event) {
      state[key] = selects[key].value;
      state.page = 1;
      update(event.timeStamp);
    });
  });
  document.getElementById("clear").addEventListener("click", function (event) {
    state.q = "";
    FILTERS.forEach(function (key) { state[key] = ""; });
    state.page = 1;
    update(event.timeStamp);
  });
  document.querySelectorAll("th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function (event) {
      state.sort = th.getAttribute("data-sort");
      state.page = 1;
      update(event.timeStamp);
    });
  });
  window.addEventListener("hashchange", function () { readHash(); render(performance.now()); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && document.activeElement !== q) { event.preventDefault(); q.focus(); }
  });

  readHash();
  var first = render(0);
  window.ZOO_READY = first.rendered;
})();
