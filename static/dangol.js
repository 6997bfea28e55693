/*! dangol.js: the storefront script of a dangol server (its docs/storefront.md). Paste one tag:
 * <script async src="https://HOST/dangol.js" data-write-key="WRITE_KEY"></script> */
(() => {
  "use strict";
  const w = window, d = document, VERSION = "1";
  const tag = d.currentScript || d.querySelector("script[data-write-key]");
  if (!tag || (w.dangol && w.dangol.loaded)) return;
  const key = tag.dataset.writeKey, base = new URL(tag.src, location.href).origin;
  // The console's preview: the messages come in the page (#dangol-preview), show at once, and
  // nothing is stored or sent.
  const preview = tag.hasAttribute("data-preview");
  const early = Array.isArray(w.dangol) ? w.dangol.slice() : [];

  // Storage: the anonymous id in a first-party cookie and localStorage, the member in localStorage.
  const local = {
    get: (k) => { try { return localStorage.getItem(k); } catch (e) { return null; } },
    set: (k, v) => { try { v == null ? localStorage.removeItem(k) : localStorage.setItem(k, v); } catch (e) { /* private mode */ } },
  };
  const cookie = (k) => { try { return (d.cookie.match("(?:^|; )" + k + "=([^;]*)") || [])[1]; } catch (e) { /* sandboxed */ } };
  const setCookie = (k, v, days) => {
    d.cookie = k + "=" + (v || "") + "; path=/; max-age=" + (v ? days * 86400 : 0) + "; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  };
  const uuid = () => crypto.randomUUID ? crypto.randomUUID() :
    ([1e7] + -1e3 + -4e3 + -8e3 + -1e11).replace(/[018]/g, (c) => (c ^ crypto.getRandomValues(new Uint8Array(1))[0] & 15 >> c / 4).toString(16));

  // With data-consent="required", nothing is stored and nothing is sent until dangol.consent(true).
  let consented = !preview && (tag.dataset.consent !== "required" || local.get("dangol_consent") === "1");
  let anon = cookie("dangol_aid") || local.get("dangol_aid") || uuid();
  let user = local.get("dangol_uid"), hash = local.get("dangol_uhash");
  let visitState = null;
  const persist = () => {
    if (!consented) return;
    if (visitState) local.set("dangol_visit", JSON.stringify(visitState));
    setCookie("dangol_aid", anon, 365);
    local.set("dangol_aid", anon);
    local.set("dangol_uid", user);
    local.set("dangol_uhash", hash);
  };
  const forget = () => {
    setCookie("dangol_aid", null);
    ["dangol_aid", "dangol_uid", "dangol_uhash", "dangol_consent", "dangol_visit"].forEach((k) => local.set(k, null));
  };

  // Sending: messages wait 50 ms to go together (at most 100 a request); a page being hidden sends
  // at once with sendBeacon. A request the server could not take is tried twice more.
  let outbox = [], timer = 0;
  const flush = (hidden) => {
    clearTimeout(timer);
    timer = 0;
    while (consented && outbox.length) {
      const batch = outbox.splice(0, 100), sentAt = new Date().toISOString();
      const body = JSON.stringify(batch.length === 1 ? { ...batch[0], writeKey: key, sentAt } : { batch, writeKey: key, sentAt });
      const url = base + "/v1/" + (batch.length === 1 ? batch[0].type[0] : "b");
      if (hidden && navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) continue;
      const retry = (n) => fetch(url, { method: "POST", body, keepalive: body.length < 60000, credentials: "omit", headers: { "Content-Type": "text/plain" } })
        .then((r) => { if ((r.status >= 500 || r.status === 429) && n < 2) setTimeout(() => retry(n + 1), 1000 << n); })
        .catch(() => { if (n < 2) setTimeout(() => retry(n + 1), 1000 << n); });
      retry(0);
    }
  };
  const send = (m) => {
    outbox.push(m);
    if (consented && !timer) timer = setTimeout(flush, 50);
  };
  const hide = () => d.visibilityState === "hidden" && flush(true);
  d.addEventListener("visibilitychange", hide);
  w.addEventListener("pagehide", () => flush(true));

  // What a message says about the page it was sent from.
  const pageInfo = () => ({ url: location.href, path: location.pathname, referrer: d.referrer, title: d.title, search: location.search });
  const context = () => {
    const campaign = {};
    for (const [k, v] of new URLSearchParams(location.search)) {
      if (k.startsWith("utm_")) campaign[k === "utm_campaign" ? "name" : k.slice(4)] = v;
    }
    const c = { library: { name: "dangol.js", version: VERSION }, page: pageInfo(), userAgent: navigator.userAgent,
      locale: navigator.language, screen: { width: screen.width, height: screen.height } };
    if (Object.keys(campaign).length) c.campaign = campaign;
    return c;
  };
  const message = (type, fields) => {
    const m = { type, messageId: uuid(), timestamp: new Date().toISOString(), anonymousId: anon, context: context(), ...fields };
    if (user) m.userId = user;
    if (user && hash) m.userHash = hash;
    send(m);
  };

  // The product a page shows: an element with data-dangol-product, else a schema.org Product in JSON-LD.
  const num = (v) => (v == null || v === "" || isNaN(+v) ? undefined : +v);
  const text = (v) => (typeof v === "string" ? v : v && typeof v === "object" ? v.name || v.url : undefined);
  const clean = (o) => (Object.keys(o).forEach((k) => o[k] === undefined && delete o[k]), o);
  const fromLd = (v) => {
    if (Array.isArray(v)) { for (const x of v) { const p = fromLd(x); if (p) return p; } return; }
    if (!v || typeof v !== "object") return;
    const t = [].concat(v["@type"]);
    const id = v.sku || v.productID || v["@id"];
    if (t.includes("Product") && id != null) {
      const offer = [].concat(v.offers || [])[0] || {};
      return clean({ product_id: String(id), sku: v.sku, name: v.name, price: num(offer.price ?? offer.lowPrice),
        currency: offer.priceCurrency, category: text(v.category), brand: text(v.brand),
        image_url: text([].concat(v.image)[0]), url: location.href });
    }
    return fromLd(v["@graph"]);
  };
  const product = () => {
    const el = d.querySelector("[data-dangol-product]");
    if (el) {
      const s = el.dataset;
      if (s.id) return clean({ product_id: s.id, name: s.name, price: num(s.price), category: s.category, image_url: s.image, url: location.href });
    }
    for (const s of d.querySelectorAll('script[type="application/ld+json"]')) {
      try { const p = fromLd(JSON.parse(s.textContent)); if (p) return p; } catch (e) { /* not JSON */ }
    }
  };

  // The visit, for the "N page views" trigger: a new one after 30 minutes away.
  const visit = (() => {
    let v = {};
    try { v = JSON.parse(local.get("dangol_visit")) || {}; } catch (e) { /* none yet */ }
    const now = Date.now();
    v = now - (v.last || 0) > 1800000 ? { pages: 1 } : { pages: (v.pages || 0) + 1 };
    v.last = now;
    return v;
  })();
  const listeners = {}, happened = new Set();

  // On-site messages: asked for once a page view; each one's triggers race, and the first to fire
  // shows its message (at most one a page view) in a shadow root of its own.
  let shown = false, asked = false, loaded = false, p;
  const asking = () => {
    const q = { anonymousId: anon, url: location.href, writeKey: key, lang: (d.documentElement.lang || "").slice(0, 2),
      device: matchMedia("(max-width: 767px)").matches || /Mobi|Android|iP(hone|ad|od)/.test(navigator.userAgent) ? "mobile" : "desktop" };
    if (user) q.userId = user;
    if (user && hash) q.userHash = hash;
    return q;
  };
  const messages = () => {
    if (asked || !(consented || preview) || !loaded) return;
    asked = true;
    if (preview) {
      try { JSON.parse(d.getElementById("dangol-preview").textContent).messages.forEach((m) => arm({ ...m, trigger: [{ on: "arrival" }] })); } catch (e) { /* none */ }
      return;
    }
    const q = new URLSearchParams(clean({ ...asking(), product_id: p && p.product_id }));
    fetch(base + "/v1/messages?" + q, { credentials: "omit" })
      .then((r) => (r.ok ? r.json() : { messages: [] }))
      .then((a) => { api.due = a.messages; a.messages.forEach(arm); })
      .catch(() => { /* no messages */ });
  };
  const arm = (m) => {
    const offs = [];
    const on = (target, type, f, o) => { target.addEventListener(type, f, o); offs.push(() => target.removeEventListener(type, f, o)); };
    const fire = () => {
      offs.splice(0).forEach((off) => off());
      if (!shown) { shown = true; render(m); }
    };
    let lastY = scrollY, lastT = Date.now(), away = false;
    for (const t of m.trigger) {
      if (t.on === "arrival" || (t.on === "page_views" && visit.pages >= t.count)) setTimeout(fire);
      if (t.on === "delay") { const id = setTimeout(fire, t.seconds * 1000); offs.push(() => clearTimeout(id)); }
      if (t.on === "scroll") {
        on(w, "scroll", () => {
          const h = d.documentElement;
          if ((scrollY + innerHeight) * 100 >= h.scrollHeight * t.percent) fire();
        }, { passive: true });
      }
      if (t.on === "exit_intent") {
        on(d, "mouseout", (e) => { if (!e.relatedTarget && e.clientY <= 0) fire(); });
        on(w, "scroll", () => {
          const now = Date.now();
          if (lastY - scrollY > 200 && now - lastT < 300 && matchMedia("(pointer: coarse)").matches) fire();
          [lastY, lastT] = [scrollY, now];
        }, { passive: true });
        on(d, "visibilitychange", () => { if (d.visibilityState === "hidden") away = true; else if (away) fire(); });
      }
      if (t.on === "event") {
        if (happened.has(t.event)) setTimeout(fire);
        else (listeners[t.event] = listeners[t.event] || []).push(fire);
      }
    }
  };
  const render = (m) => {
    const host = d.createElement("div");
    host.style.cssText = "position:fixed;inset:0;z-index:2147483000;pointer-events:none";
    host.setAttribute("data-dangol-message", m.id);
    const root = host.attachShadow({ mode: "open" });
    root.innerHTML = m.html;
    (d.body || d.documentElement).appendChild(host);
    const report = (event, props) => api.track(event, { message_id: m.id, variant: m.variant, ...props });
    const close = (days) => {
      host.remove();
      report("Message Closed", days ? { dont_show_days: days } : {});
    };
    const box = root.querySelector(".box");
    if (box) {
      new IntersectionObserver((entries, o) => {
        if (entries.some((e) => e.intersectionRatio >= 0.5)) { o.disconnect(); report("Message Viewed", {}); }
      }, { threshold: [0.5] }).observe(box);
    }
    root.addEventListener("click", (e) => {
      const el = e.target.closest("[data-dangol-close],[data-dangol-snooze],[data-dangol-click],[data-dangol-reveal]");
      if (!el) return;
      if (el.hasAttribute("data-dangol-snooze")) close(+el.dataset.dangolSnooze);
      else if (el.hasAttribute("data-dangol-close")) close(0);
      else if (el.hasAttribute("data-dangol-reveal")) {
        if (preview) return;
        report("Message Clicked", {});
        fetch(base + "/v1/messages/" + m.id + "/code", { method: "POST", credentials: "omit", headers: { "Content-Type": "text/plain" },
          body: JSON.stringify(clean({ ...asking(), url: undefined, device: undefined, lang: undefined })) })
          .then((r) => (r.ok ? r.json() : {}))
          .then((a) => {
            const code = root.querySelector(".code");
            if (a.code && code) { code.textContent = a.code; code.hidden = false; el.remove(); }
          })
          .catch(() => { /* the button stays */ });
      } else {
        report("Message Clicked", clean({ product_id: el.dataset.product }));
        flush(true);
      }
    });
    // Gone by itself: not a close by the visitor.
    if (m.auto_dismiss_seconds) setTimeout(() => host.remove(), m.auto_dismiss_seconds * 1000);
  };

  const api = {
    loaded: true,
    VERSION,
    /** identify(userId, traits, {userHash}): userHash is made by the shop's server (CONTRACT §5). */
    identify(id, traits, options) {
      if (id && typeof id === "object") [id, traits, options] = [user, id, traits];
      if (id != null && String(id) !== user) [user, hash] = [String(id), null];
      if (options && options.userHash) hash = String(options.userHash);
      persist();
      message("identify", { traits: traits || {} });
    },
    track(event, properties) {
      message("track", { event: String(event), properties: properties || {} });
      happened.add(String(event));
      (listeners[event] || []).splice(0).forEach((f) => f());
    },
    page(name, properties) {
      if (name && typeof name === "object") [name, properties] = [undefined, name];
      message("page", clean({ name, properties: { ...pageInfo(), ...properties } }));
    },
    /** A new visitor on this device: after signing out. */
    reset() {
      [user, hash, anon] = [null, null, uuid()];
      persist();
    },
    consent(yes) {
      const was = consented;
      consented = !!yes;
      if (consented) {
        local.set("dangol_consent", "1");
        persist();
        flush();
        if (!was) messages();
      } else {
        outbox = [];
        forget();
      }
    },
    push(call) { run(call); },
    user: () => ({ anonymousId: anon, userId: user }),
  };
  const run = (call) => {
    const [name, ...args] = Array.from(call || []);
    if (typeof api[name] === "function" && name !== "push") api[name](...args);
  };
  w.dangol = api;
  if (!w.analytics) {
    w.analytics = {
      identify: (id, traits, options) => api.identify(id, traits, options),
      track: (event, properties) => api.track(event, properties),
      page: (a, b, c) => (typeof b === "string" ? api.page(b, c) : api.page(a, b)),
      reset: () => api.reset(),
      ready: (f) => f && setTimeout(f),
      user: () => ({ id: () => user, anonymousId: () => anon }),
    };
  }

  visitState = visit;
  early.forEach(run);
  persist();
  // A cached async script can run before the page is parsed: the page's title, product and body
  // are read once they are there.
  const start = () => {
    api.page();
    p = product();
    if (p) api.track("Product Viewed", p);
    loaded = true;
    messages();
  };
  if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", start);
  else start();
})();
