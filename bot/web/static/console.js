/* Recobra console: polls small JSON endpoints so new hand-offs and messages appear without a reload.
   Builds DOM nodes with textContent only (never innerHTML): debtor text is untrusted. */
(function () {
  "use strict";
  var body = document.body;
  var page = body.dataset.page;
  var every = Math.max(1, Math.min(3, parseFloat(body.dataset.pollSeconds || "3"))) * 1000;
  var CHANNELS = { whatsapp: "WhatsApp", sms: "SMS" };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function localTime(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString("es", { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" });
  }

  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) { t.textContent = localTime(t.getAttribute("datetime")); });
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
  }

  function loop(fn) {
    var tick = function () {
      fn().catch(function (e) { if (window.console) console.warn("console poll:", e); })
        .then(function () { window.setTimeout(tick, every); });
    };
    tick();
  }

  function postForm(action, csrf, label, cls) {
    var form = el("form", "inline");
    form.method = "post";
    form.action = action;
    var token = el("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
    form.appendChild(token);
    var button = el("button", cls || "", label);
    button.type = "submit";
    form.appendChild(button);
    return form;
  }

  // --- Queue ---------------------------------------------------------------------------------
  if (page === "queue") {
    var tbody = document.getElementById("queue-body");
    var countEl = document.getElementById("queue-count");
    var updatedEl = document.getElementById("queue-updated");
    var seen = null;
    var lastShape = "";
    var handoffUrl = function (id) { return body.dataset.handoffUrl.replace(/\/0$/, "/" + id); };
    var claimUrl = function (id) { return body.dataset.claimUrl.replace(/\/0\/claim$/, "/" + id + "/claim"); };

    var row = function (item, isNew) {
      var tr = el("tr", "item " + item.status + (item.flagged ? " flagged" : "") + (isNew ? " new" : ""));
      tr.dataset.id = item.id;
      var reason = el("td", "reason");
      reason.appendChild(el("span", "reason-label", item.reason_label));
      if (item.flagged) reason.appendChild(el("span", "badge alert", "Sin atender " + item.waiting));
      tr.appendChild(reason);
      var debtor = el("td", "debtor");
      var a = el("a", "", item.debtor_name);
      a.href = handoffUrl(item.id);
      debtor.appendChild(a);
      debtor.appendChild(el("div", "muted", (item.debtor_external_id || "") + " · " + item.phone));
      tr.appendChild(debtor);
      var overdue = el("td", "overdue");
      if (item.overdue.length === 0) overdue.appendChild(el("span", "muted", "—"));
      item.overdue.forEach(function (o) { overdue.appendChild(el("div", "", o.text)); });
      tr.appendChild(overdue);
      tr.appendChild(el("td", "waiting", item.waiting));
      tr.appendChild(el("td", "channel", item.channel_label));
      tr.appendChild(el("td", "last", item.last_message));
      tr.appendChild(el("td", "status", item.status === "open" ? "Sin asignar" : "Atiende " + (item.claimed_by_name || "—")));
      var actions = el("td", "actions");
      if (item.status === "open") actions.appendChild(postForm(claimUrl(item.id), body.dataset.csrf, "Tomar", "primary claim"));
      var open = el("a", "button", "Abrir");
      open.href = handoffUrl(item.id);
      actions.appendChild(open);
      tr.appendChild(actions);
      return tr;
    };

    loop(function () {
      return getJSON(body.dataset.pollUrl).then(function (data) {
        updatedEl.textContent = "actualizado " + new Date().toLocaleTimeString("es");
        // Redraw only when something an agent sees changed (a click on "Tomar" is never lost to a redraw).
        var shape = JSON.stringify(data.items.map(function (i) {
          return [i.id, i.status, i.claimed_by, i.flagged, i.waiting, i.last_inbound_id, i.overdue, i.channel];
        }));
        if (shape === lastShape) return;
        lastShape = shape;
        var ids = new Set();
        var frag = document.createDocumentFragment();
        data.items.forEach(function (item) {
          ids.add(item.id);
          frag.appendChild(row(item, seen !== null && !seen.has(item.id)));
        });
        if (data.items.length === 0) {
          var empty = el("tr", "empty");
          var td = el("td", "", "No hay conversaciones esperando. Las nuevas aparecerán aquí.");
          td.colSpan = 8;
          empty.appendChild(td);
          frag.appendChild(empty);
        }
        tbody.replaceChildren(frag);
        var waiting = data.items.filter(function (i) { return i.status === "open"; }).length;
        countEl.textContent = waiting + " sin asignar, " + (data.items.length - waiting) + " en atención";
        document.title = (waiting ? "(" + waiting + ") " : "") + "Cola de conversaciones · Recobra";
        seen = ids;
      });
    });
  }

  // --- Conversation ----------------------------------------------------------------------------
  if (page === "handoff") {
    var list = document.getElementById("transcript");
    var notice = document.getElementById("state-notice");
    var lastId = parseInt(body.dataset.lastId || "0", 10);
    var status = body.dataset.status;
    localizeTimes(document);

    var render = function (m) {
      var li = el("li", "msg " + m.direction + " " + m.author + " new");
      li.dataset.id = m.id;
      var meta = el("div", "meta");
      meta.appendChild(el("span", "who", m.author_label + (m.agent_name ? " · " + m.agent_name : "")));
      meta.appendChild(el("span", "chan", CHANNELS[m.channel] || m.channel));
      var t = el("time", "", localTime(m.created_at));
      t.setAttribute("datetime", m.created_at);
      meta.appendChild(t);
      if (m.direction === "out") meta.appendChild(el("span", "status s-" + m.status, (m.status_label || m.status) + (m.error_code ? " (" + m.error_code + ")" : "")));
      if (m.template) meta.appendChild(el("span", "tag", "plantilla"));
      if (m.tapped) meta.appendChild(el("span", "tag", "botón"));
      li.appendChild(meta);
      if (m.body) li.appendChild(el("div", "body", m.body));
      if (m.choices && m.choices.length) {
        var offered = el("div", "choices", "Opciones: ");
        m.choices.forEach(function (c) { offered.appendChild(el("span", "tag", c)); offered.appendChild(document.createTextNode(" ")); });
        li.appendChild(offered);
      }
      if (m.hold_until) li.appendChild(el("div", "held", "Retenido por las reglas de contacto: sale el " + localTime(m.hold_until) + " (recarga para cancelar o corregir)"));
      m.media.forEach(function (media) {
        var a = el("a", "media");
        a.href = media.url; a.target = "_blank"; a.rel = "noopener noreferrer";
        if (media.image) {
          var img = el("img");
          img.src = media.url; img.alt = "Adjunto del deudor"; img.loading = "lazy";
          a.appendChild(img);
        } else {
          a.textContent = "Adjunto (" + (media.content_type || "archivo") + ")";
        }
        li.appendChild(a);
      });
      return li;
    };

    loop(function () {
      return getJSON(body.dataset.pollUrl + "?after=" + lastId).then(function (data) {
        if (data.messages.length) {
          var empty = list.querySelector(".empty");
          if (empty) empty.remove();
          data.messages.forEach(function (m) {
            if (list.querySelector('[data-id="' + m.id + '"]')) return;
            list.appendChild(render(m));
            lastId = Math.max(lastId, m.id);
          });
          list.lastElementChild.scrollIntoView({ block: "end" });
        }
        Object.keys(data.statuses || {}).forEach(function (id) {
          var span = list.querySelector('[data-id="' + id + '"] .status');
          if (span && span.textContent.indexOf(data.statuses[id]) !== 0) span.textContent = data.statuses[id];
        });
        if (data.status !== status) {
          notice.hidden = false;
          notice.textContent = data.status === "closed" ? "Esta conversación ya se cerró o volvió al bot."
            : data.status === "claimed" ? "La tomó " + (data.claimed_by_name || "otra persona") + ". Recarga la página."
            : "La conversación volvió a la cola. Recarga la página.";
        }
      });
    });
  }
})();
