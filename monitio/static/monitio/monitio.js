/*
 * monitio's live client: toasts, unread badges and cross-tab state from the gateway.
 *
 * No dependencies, no inline script, no eval: works under CSP `script-src 'self'`.
 * Configuration comes from the JSON element `#monitio-config` that
 * `{% include "monitio/header.html" %}` writes (see templatetags/monitio_live.py).
 *
 * Connection: POST to the stream-token view (CSRF-protected) sets the HttpOnly
 * stream cookie and answers {url, last_event_id}; then
 * `new EventSource(url + "?last_event_id=...", {withCredentials: true})`. The
 * browser reconnects by itself after a network error, sending Last-Event-ID. A
 * non-200 answer (401 once the cookie expired, 5xx during a deploy) closes the
 * EventSource for good, so then we fetch a fresh token and reopen with the last id
 * seen, backing off with jitter.
 *
 * Message text is inserted with textContent (HTML shows literally) unless the
 * sender marked it safe (`safe: true`, Django's SafeData). The sender's name
 * always goes in as text.
 *
 * On any page that loads this file, stream or not: `<time class="monitio-time">`
 * elements (toasts and inbox rows) read "3 hours ago" in the page's language
 * (Intl.RelativeTimeFormat) and stay current; a form with `data-monitio-confirm`
 * asks before it submits (without JavaScript it simply submits).
 *
 * Sites can listen to `monitio:message`, `monitio:update`, `monitio:read`, `monitio:unread`,
 * `monitio:deleted`, `monitio:resync` and `monitio:unread-count` events on document,
 * and register a theme (a map of class names) in `window.monitio.themes` from a
 * deferred script loaded after this one.
 */
(function () {
  "use strict";

  var gettext = typeof window.gettext === "function" ? window.gettext : function (s) { return s; };
  var LEVELS = {10: "debug", 20: "info", 25: "success", 30: "warning", 40: "error",
                110: "debug", 120: "info", 125: "success", 130: "warning", 140: "error"};
  var EVENTS = ["message", "update", "read", "unread", "deleted", "resync"];
  var PLACEHOLDER = "00000000-0000-0000-0000-000000000000";

  var themes = {
    "default": {
      container: "monitio-toasts",
      toast: "monitio-toast",
      level: function (tag) { return "monitio-" + tag; },
      body: "monitio-toast-body",
      meta: "monitio-meta",
      subject: "monitio-subject",
      text: "monitio-text",
      link: "monitio-link",
      actions: "monitio-actions",
      button: "monitio-button",
      close: "monitio-close",
      closeAll: "monitio-close-all"
    },
    "bootstrap5": {
      container: "monitio-toasts toast-container position-fixed bottom-0 end-0 p-3",
      toast: "monitio-toast alert shadow-sm",
      level: function (tag) {
        return "alert-" + ({debug: "secondary", error: "danger"}[tag] || tag);
      },
      body: "monitio-toast-body",
      meta: "monitio-meta small opacity-75",
      subject: "monitio-subject d-block",
      text: "monitio-text",
      link: "monitio-link alert-link",
      actions: "monitio-actions mt-2",
      button: "monitio-button btn btn-sm btn-outline-secondary me-1",
      close: "monitio-close btn-close",
      closeAll: "monitio-close-all btn btn-sm btn-light"
    }
  };
  window.monitio = window.monitio || {};
  window.monitio.themes = Object.assign(themes, window.monitio.themes || {});

  function Client(config) {
    this.config = config;
    this.theme = themes[config.theme] || themes["default"];
    this.lastEventId = config.lastEventId || "";
    this.seen = Object.create(null);
    this.toasts = Object.create(null);
    this.source = null;
    this.failures = 0;
    this.timer = null;
    this.container = null;
    this.channel = null;
    this.leader = false;
  }

  Client.prototype.start = function () {
    this.mount();
    if (!window.BroadcastChannel || !navigator.locks) {
      this.connect();  // no Web Locks (plain HTTP off localhost): every tab streams
      return;
    }
    // Browsers allow six HTTP/1.1 connections per host, so a stream per tab would
    // leave a seventh tab waiting forever. One tab, the holder of a Web Lock, keeps
    // the stream and relays every event to the others; when it closes, the lock
    // passes to another tab, which reconnects from the last id it heard.
    var self = this;
    var name = "monitio:" + this.config.streamTokenUrl;
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = function (event) {
      var relayed = event.data || {};
      if (EVENTS.indexOf(relayed.name) >= 0) { self.receive(relayed.name, relayed); }
    };
    navigator.locks.request(name, function () {
      self.leader = true;
      self.connect();
      return new Promise(function () {});  // held for the life of this tab
    });
  };

  // -- the stream ------------------------------------------------------------

  Client.prototype.connect = function () {
    var self = this;
    this.timer = null;
    this.post(this.config.streamTokenUrl).then(function (answer) {
      if (!answer.ok) {
        // Logged out (401/403): stop. Anything else: try again later.
        if (answer.status !== 401 && answer.status !== 403) { self.retryLater(); }
        return;
      }
      if (!self.lastEventId) { self.lastEventId = answer.body.last_event_id || ""; }
      self.open(answer.body.url);
    }, function () { self.retryLater(); });
  };

  Client.prototype.open = function (url) {
    var self = this;
    var target = url;
    if (this.lastEventId) {
      target += (url.indexOf("?") < 0 ? "?" : "&") +
        "last_event_id=" + encodeURIComponent(this.lastEventId);
    }
    var source = new EventSource(target, {withCredentials: true});
    this.source = source;
    source.onopen = function () { self.failures = 0; };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        if (self.source === source) { self.source = null; self.retryLater(); }
      }
      // CONNECTING: the browser retries on its own, with Last-Event-ID.
    };
    EVENTS.forEach(function (name) {
      source.addEventListener(name, function (event) { self.receive(name, event); });
    });
  };

  Client.prototype.retryLater = function () {
    if (this.timer !== null) { return; }
    var base = Math.min(30000, 1000 * Math.pow(2, this.failures));
    this.failures += 1;
    this.timer = window.setTimeout(this.connect.bind(this), base / 2 + Math.random() * base / 2);
  };

  Client.prototype.receive = function (name, event) {
    if (event.lastEventId) { this.lastEventId = event.lastEventId; }
    if (this.leader && this.channel) {
      this.channel.postMessage({name: name, data: event.data, lastEventId: event.lastEventId});
    }
    var data;
    try { data = JSON.parse(event.data || "{}"); } catch (e) { return; }
    if (name === "message") { this.onMessage(data); }
    else if (name === "update") { this.onUpdate(data); }
    else if (name === "read" || name === "deleted") { this.onGone(data); }
    else if (name === "resync") { this.resync(); }
    if (data && typeof data.unread === "number") { this.setUnread(data.unread); }
    document.dispatchEvent(new CustomEvent("monitio:" + name, {detail: data}));
  };

  Client.prototype.onMessage = function (message) {
    if (!message.id || this.seen[message.id]) { return; }  // replayed twice: once
    if (message.expires && Date.parse(message.expires) <= Date.now()) { return; }  // replayed late
    this.seen[message.id] = true;
    this.show(message);
  };

  // A grouped message changed (one more comment, the next step of a job): its toast
  // is replaced in place, or shown if this page has none. The badge stays as it is.
  Client.prototype.onUpdate = function (message) {
    if (!message.id) { return; }
    if (message.expires && Date.parse(message.expires) <= Date.now()) {
      this.remove(message.id);
      return;
    }
    this.seen[message.id] = true;
    this.show(message);
  };

  Client.prototype.onGone = function (data) {
    // Read or deleted in another tab: this tab's toasts go too. ids null = all.
    var ids = data.ids || Object.keys(this.toasts);
    for (var i = 0; i < ids.length; i++) { this.remove(ids[i]); }
  };

  Client.prototype.resync = function () {
    // History could not fill a gap: the server's list is the truth.
    var self = this;
    this.request("GET", this.config.jsonUrl + "?unread=1&limit=100").then(function (answer) {
      if (!answer.ok) { return; }
      var unread = Object.create(null);
      var since = Date.parse(self.config.renderedAt);
      // Newest first from the server; toasts go oldest first. Older unread
      // messages were on the page already, so only newer ones become toasts.
      answer.body.messages.slice().reverse().forEach(function (message) {
        unread[message.id] = true;
        if (Date.parse(message.created) >= since) { self.onMessage(message); }
      });
      Object.keys(self.toasts).forEach(function (id) {
        if (self.toasts[id].persistent && !unread[id]) { self.remove(id); }
      });
      if (typeof answer.body.unread === "number") { self.setUnread(answer.body.unread); }
    });
  };

  // -- HTTP ------------------------------------------------------------------

  Client.prototype.csrfToken = function () {
    var name = this.config.csrfCookieName + "=";
    var cookies = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < cookies.length; i++) {
      var cookie = cookies[i].trim();
      if (cookie.indexOf(name) === 0) { return decodeURIComponent(cookie.slice(name.length)); }
    }
    return this.config.csrfToken;  // CSRF_COOKIE_HTTPONLY: the page's token
  };

  Client.prototype.request = function (method, url) {
    var headers = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"};
    if (method !== "GET") { headers[this.config.csrfHeaderName] = this.csrfToken(); }
    return fetch(url, {method: method, headers: headers, credentials: "same-origin"})
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          return {ok: response.ok, status: response.status, body: body};
        });
      });
  };

  Client.prototype.post = function (url) { return this.request("POST", url); };

  Client.prototype.act = function (template, id) {
    var self = this;
    return this.post(template.replace(PLACEHOLDER, id)).then(function (answer) {
      if (answer.ok) {
        self.remove(id);
        if (typeof answer.body.unread === "number") { self.setUnread(answer.body.unread); }
      }
      return answer;
    });
  };

  // -- the page --------------------------------------------------------------

  Client.prototype.setUnread = function (count) {
    var nodes = document.querySelectorAll("[data-monitio-unread]");
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = String(count);
      nodes[i].setAttribute("data-monitio-unread", String(count));
    }
    document.dispatchEvent(new CustomEvent("monitio:unread-count", {detail: {unread: count}}));
  };

  Client.prototype.mount = function () {
    var root = document.getElementById("monitioMessages");
    if (!root) { return; }
    this.container = element("div", this.theme.container);
    this.container.setAttribute("aria-live", "polite");
    root.appendChild(this.container);
  };

  Client.prototype.show = function (message) {
    if (!this.container) { return; }
    var theme = this.theme;
    var tag = LEVELS[message.level] || "info";
    var toast = element("div", theme.toast + " " + theme.level(tag) +
                        (message.tags ? " " + message.tags : ""));
    toast.setAttribute("role", tag === "error" || tag === "warning" ? "alert" : "status");
    toast.setAttribute("data-monitio-id", message.id);
    var body = element("div", theme.body);
    var group = message.group;
    body.appendChild(meta(theme.meta, (group && group.summary) || message.from_user, message.created));
    if (message.subject) { body.appendChild(element("strong", theme.subject, message.subject)); }
    var text = element("div", theme.text);
    if (message.safe) { text.innerHTML = message.message; }  // SafeData only
    else { text.textContent = message.message; }
    body.appendChild(text);
    if (isLocalPath(message.url)) {
      var link = element("a", theme.link, gettext("Open"));
      link.href = message.url;
      body.appendChild(link);
    }
    toast.appendChild(body);
    toast.appendChild(this.actions(message));
    toast.setAttribute("data-monitio-created", message.created || "");
    var shown = this.toasts[message.id];
    if (shown) { window.clearTimeout(shown.timer); }
    if (shown && shown.node.parentNode) { shown.node.parentNode.replaceChild(toast, shown.node); }
    else { this.container.insertBefore(toast, this.nextNewer(message.created)); }
    this.toasts[message.id] = {node: toast, persistent: !!message.persistent};
    if (message.close_timeout) {
      this.toasts[message.id].timer =
        window.setTimeout(this.remove.bind(this, message.id), message.close_timeout);
    }
    this.updateCloseAll();
  };

  // Toasts stand in the order the messages were created: two workers may publish
  // a job's consecutive messages a few milliseconds out of order.
  Client.prototype.nextNewer = function (created) {
    var when = Date.parse(created);
    var nodes = this.container.querySelectorAll("[data-monitio-created]");
    for (var i = 0; i < nodes.length; i++) {
      if (Date.parse(nodes[i].getAttribute("data-monitio-created")) > when) { return nodes[i]; }
    }
    return null;
  };

  Client.prototype.actions = function (message) {
    var self = this;
    var theme = this.theme;
    var box = element("div", theme.actions);
    if (message.persistent) {
      box.appendChild(button(theme.button, gettext("Mark as read"), function () {
        self.act(self.config.markReadUrl, message.id);
      }));
      box.appendChild(button(theme.button, gettext("Delete"), function () {
        self.act(self.config.deleteUrl, message.id);
      }));
    }
    var close = button(theme.close, theme.close.indexOf("btn-close") >= 0 ? "" : "\u00d7",
                       function () { self.remove(message.id); });
    close.setAttribute("aria-label", gettext("Close"));
    box.appendChild(close);
    return box;
  };

  Client.prototype.updateCloseAll = function () {
    var count = Object.keys(this.toasts).length;
    var existing = this.container.querySelector("[data-monitio-close-all]");
    if (count >= 2 && !existing) {
      var self = this;
      var all = button(this.theme.closeAll, gettext("Close all messages"), function () {
        Object.keys(self.toasts).forEach(self.remove.bind(self));
      });
      all.setAttribute("data-monitio-close-all", "");
      this.container.insertBefore(all, this.container.firstChild);
    } else if (count < 2 && existing) {
      existing.parentNode.removeChild(existing);
    }
  };

  Client.prototype.remove = function (id) {
    var toast = this.toasts[id];
    if (!toast) { return; }
    delete this.toasts[id];
    if (toast.node.parentNode) { toast.node.parentNode.removeChild(toast.node); }
    this.updateCloseAll();
  };

  // "alice · now": who sent the message, and when, as a <time> kept current.
  function meta(className, sender, created) {
    var line = element("div", className);
    if (sender) {
      line.appendChild(element("span", "monitio-sender", sender));
      line.appendChild(document.createTextNode(" \u00b7 "));
    }
    var when = element("time", "monitio-time");
    when.setAttribute("datetime", created || new Date().toISOString());
    line.appendChild(when);
    showRelative(when);
    return line;
  }

  // -- times and confirmations (any page) --------------------------------------

  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
               ["hour", 3600], ["minute", 60]];
  var relative = null;
  var locale;  // the page's lang, or undefined (the browser's) if Intl rejects it

  function relativeFormat() {
    if (relative === null) {
      relative = false;
      if (window.Intl && Intl.RelativeTimeFormat) {
        locale = document.documentElement.lang || undefined;
        try {
          relative = new Intl.RelativeTimeFormat(locale, {numeric: "auto"});
        } catch (e) {
          locale = undefined;
          relative = new Intl.RelativeTimeFormat(locale, {numeric: "auto"});
        }
      }
    }
    return relative;
  }

  function showRelative(node) {
    var when = Date.parse(node.getAttribute("datetime"));
    var format = relativeFormat();
    if (isNaN(when) || !format) { return; }  // keep the server's text
    // A browser clock a little behind the server's must not say "in 2 seconds".
    var seconds = Math.max(0, (Date.now() - when) / 1000);
    var text = format.format(0, "second");  // "now"
    for (var i = 0; i < UNITS.length; i++) {
      if (seconds >= UNITS[i][1]) {
        text = format.format(-Math.floor(seconds / UNITS[i][1]), UNITS[i][0]);
        break;
      }
    }
    node.textContent = text;
    if (!node.title) {
      node.title = new Date(when).toLocaleString(locale);
    }
  }

  function refreshTimes() {
    var nodes = document.querySelectorAll("time.monitio-time[datetime]");
    for (var i = 0; i < nodes.length; i++) { showRelative(nodes[i]); }
  }

  function confirmSubmit(event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-monitio-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function button(className, label, onClick) {
    var node = element("button", className, label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function isLocalPath(url) {
    // A path on this site only: never "javascript:", never another host. The
    // browser's own parser decides ("/\t/host" is "//host" once it drops the tab).
    if (typeof url !== "string" || url.charAt(0) !== "/") { return false; }
    try { return new URL(url, window.location.href).origin === window.location.origin; }
    catch (e) { return false; }
  }

  function init() {
    if (!window.monitio.pageReady) {  // once, even if the script is loaded twice
      window.monitio.pageReady = true;
      refreshTimes();
      window.setInterval(refreshTimes, 30000);
      document.addEventListener("submit", confirmSubmit);
    }
    var node = document.getElementById("monitio-config");
    if (!node || window.monitio.client) { return; }
    var client = new Client(JSON.parse(node.textContent));
    window.monitio.client = client;
    client.start();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
