// virtfleet dashboard: bar widths, confirmations, and the live migration poller.
// Text from the server is only ever set with textContent (never as HTML).
"use strict";

function setBars(root) {
  root.querySelectorAll(".fill[data-pct]").forEach(function (el) {
    var pct = Math.max(0, Math.min(100, Number(el.dataset.pct) || 0));
    el.style.width = pct + "%";
  });
}

function confirmForms() {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
}

function cell(text) {
  var td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  return td;
}

function migrationRow(m) {
  var tr = document.createElement("tr");
  tr.dataset.migration = m.uuid;
  var name = cell(m.server_name || m.server_id);
  name.title = m.server_id;
  var status = cell(m.status);
  status.className = "status";
  var progress = document.createElement("td");
  var bar = document.createElement("span");
  bar.className = "bar";
  var fill = document.createElement("span");
  fill.className = "fill progress";
  bar.appendChild(fill);
  var pct = document.createElement("span");
  pct.className = "pct";
  progress.appendChild(bar);
  progress.appendChild(document.createTextNode(" "));
  progress.appendChild(pct);
  progress.appendChild(document.createTextNode("%"));
  [name, status, cell(m.source), cell(m.destination), progress].forEach(function (td) {
    tr.appendChild(td);
  });
  return tr;
}

function showMigrations(table, body) {
  var tbody = table.tBodies[0];
  var seen = {};
  body.migrations.forEach(function (m) {
    seen[m.uuid] = true;
    var row = tbody.querySelector('tr[data-migration="' + CSS.escape(m.uuid) + '"]');
    if (!row) { row = migrationRow(m); tbody.appendChild(row); }
    row.querySelector(".status").textContent = m.status;
    var fill = row.querySelector(".fill");
    fill.dataset.pct = String(m.progress);
    fill.style.width = Math.max(0, Math.min(100, m.progress)) + "%";
    row.querySelector(".pct").textContent = String(m.progress);
  });
  Array.prototype.slice.call(tbody.rows).forEach(function (row) {
    if (!seen[row.dataset.migration]) { tbody.removeChild(row); }
  });
  var empty = document.getElementById("migrations-empty");
  if (empty) { empty.hidden = body.migrations.length > 0; }
}

function pollMigrations(table) {
  var url = table.dataset.poll;
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (resp.status === 401) { window.location.reload(); throw new Error("logged out"); }
        return resp.json();
      })
      .then(function (body) { showMigrations(table, body); })
      .catch(function () { /* keep the last values; try again */ })
      .finally(function () { window.setTimeout(tick, 1000); });
  }
  window.setTimeout(tick, 1000);
}

document.addEventListener("DOMContentLoaded", function () {
  setBars(document);
  confirmForms();
  var table = document.getElementById("migrations");
  if (table && table.dataset.poll) { pollMigrations(table); }
});
