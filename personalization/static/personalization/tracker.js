/*! personalization tracker.js | see docs/tracking.md */
/*
 * Browser side of the personalization app's tracking. No dependencies and no inline script: the
 * {% personalization_tracker %} tag renders
 *
 *   <script src=".../tracker.min.js" defer data-endpoint="..." data-token="..."
 *           data-token-url="..." data-consent-cookie="p13n_consent"></script>
 *
 * and this file reads its settings from those attributes. It captures what the page marks with
 * data-p13n-* attributes and what the page pushes to window.dataLayer (GA4 e-commerce events),
 * and posts batches to the ingest API. Nothing is captured or sent unless the consent cookie grants
 * "analytics" or "personalization"; consent is checked again before every request. When consent
 * is given on a page served without it (consent.js sends a "p13n:consent" event to document), the
 * view of that page is sent, since the server did not record it.
 *
 * Page views and product views of the page the server rendered are recorded by the server
 * (TrackingMiddleware), so view events for that URL path are dropped here; they are sent only
 * after a client-side navigation has changed location.pathname.
 *
 * Edit this file, then rebuild tracker.min.js with `make js`.
 */
(() => {
  "use strict";

  // Nothing here may ever break the page: every callback goes through guard().
  const guard =
    (fn) =>
    (...args) => {
      try {
        return fn(...args);
      } catch (e) {
        return undefined;
      }
    };

  const start = () => {
    const script = document.currentScript;
    if (!script || window.p13n) return;
    const config = script.dataset;
    const endpoint = config.endpoint;
    const tokenUrl = config.tokenUrl;
    const consentCookie = config.consentCookie || "p13n_consent";
    // The server sets data-consent-required="false" when CONSENT_REQUIRED is off.
    const consentRequired = config.consentRequired !== "false";
    // A choice made under another policy version is no choice (the banner asks again).
    const policyVersion = config.policyVersion;
    let token = config.token || "";

    const FLUSH_DELAY = 4000; // ms a captured event may wait for companions
    const BATCH = 20; // events per request; a full batch is sent at once
    const MAX_TRIES = 6; // 1 + 5 retries with exponential backoff
    const VIEWS = [
      "page_view",
      "product_view",
      "view_item",
      "view_item_list",
      "Page Viewed",
      "Product Viewed",
      "Product List Viewed",
    ];
    const GA4 = VIEWS.slice(0, 4).concat([
      "select_item",
      "add_to_cart",
      "remove_from_cart",
      "add_to_wishlist",
      "begin_checkout",
      "purchase",
      "search",
      "view_search_results",
      "select_promotion",
    ]);
    // GA4 events about items: one of our events per item.
    const PER_ITEM = ["view_item", "select_item", "add_to_cart", "remove_from_cart", "add_to_wishlist"];

    const servedPath = location.pathname;
    const attr = (el, name) => (el && el.getAttribute(name)) || "";
    const closest = (el, selector) => el && el.closest && el.closest(selector);
    const on = (target, type, fn, options) =>
      target.addEventListener(type, guard(fn), options === undefined ? true : options);
    const pageProduct = attr(
      document.querySelector("[data-p13n-product-page]"),
      "data-p13n-product-page",
    );

    const consented = () => {
      const match = document.cookie.match("(?:^|;)\\s*" + consentCookie + "=([^;]*)");
      if (!match) return !consentRequired;
      // "<policy version>:<categories joined by +>", e.g. 1:analytics+personalization
      const parts = decodeURIComponent(match[1]).replace(/"/g, "").split(":");
      if (policyVersion && parts[0] !== policyVersion) return !consentRequired;
      return (parts[1] || "").split("+").some((c) => c === "analytics" || c === "personalization");
    };

    const uuid = () => {
      if (crypto.randomUUID) return crypto.randomUUID();
      // Outside secure contexts randomUUID is missing: build a version 4 UUID by hand.
      const b = crypto.getRandomValues(new Uint8Array(16));
      b[6] = (b[6] & 15) | 64;
      b[8] = (b[8] & 63) | 128;
      const h = Array.from(b, (x) => (x + 256).toString(16).slice(1)).join("");
      return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join(
        "-",
      );
    };

    let queue = [];
    let timer = 0;
    let tokenRequest = null;

    const refreshToken = () => {
      if (!tokenUrl) return Promise.resolve();
      tokenRequest =
        tokenRequest ||
        fetch(tokenUrl, { cache: "no-store" })
          .then((r) => (r.ok ? r.json() : {}))
          .then(
            (data) => {
              token = data.token || "";
              tokenRequest = null;
            },
            () => {
              tokenRequest = null;
            },
          );
      return tokenRequest;
    };

    const retry = (events, tries, retryAfter) => {
      if (tries + 1 >= MAX_TRIES) return;
      const backoff = Math.min(60000, 1000 * 2 ** tries * (1 + Math.random()));
      setTimeout(
        guard(() => send(events, false, tries + 1)),
        Math.max(backoff, (Number(retryAfter) || 0) * 1000),
      );
    };

    // tries: attempts made so far; renewed: a new token was already fetched for these events.
    const send = (events, beacon, tries, renewed) => {
      if (!consented()) return; // consent withdrawn since the events were captured
      if (!token) {
        // No token yet (consent given after the page was served, or the page's was refused):
        // fetch one, once for these events.
        if (!beacon) refreshToken().then(guard(() => token && send(events, false, tries, true)));
        return;
      }
      const body = JSON.stringify({ token: token, source: "js", events: events });
      // sendBeacon survives the page being closed; a string body goes as text/plain.
      if (beacon && navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
      fetch(endpoint, { method: "POST", body: body, keepalive: beacon }).then(
        guard((response) => {
          const status = response.status;
          if (status === 429 || status >= 500) {
            retry(events, tries, response.headers.get("Retry-After"));
          } else if (status === 403 && !renewed) {
            // invalid_token / stale_token: the page's token expired or is another visitor's.
            response.json().then(
              guard((error) => {
                if (/token/.test(error.code)) {
                  token = "";
                  send(events, false, tries, true);
                }
              }),
            );
          }
          // Other 4xx answers are final: the same request would be refused again.
        }),
        guard(() => retry(events, tries)),
      );
    };

    const flush = (beacon) => {
      clearTimeout(timer);
      timer = 0;
      while (queue.length) send(queue.splice(0, BATCH), beacon === true, 0);
    };

    // view: the view of the served page, which the server did not record (no consent then).
    const track = (name, properties, productId, view) => {
      if (!name || !consented()) return "";
      if (!view && VIEWS.indexOf(name) >= 0 && location.pathname === servedPath) return "";
      const id = uuid();
      queue.push({
        event_id: id,
        name: String(name),
        product_id: productId ? String(productId) : undefined,
        properties: properties || {},
        timestamp: Date.now(),
        url: location.href,
        referrer: document.referrer,
      });
      if (queue.length >= BATCH) flush();
      else if (!timer) timer = setTimeout(guard(flush), FLUSH_DELAY);
      return id;
    };

    const productOf = (el) =>
      attr(el, "data-p13n-product") ||
      attr(closest(el, "[data-p13n-product]"), "data-p13n-product") ||
      pageProduct;

    const trackAction = (el, form) => {
      const field = form && form.elements.quantity;
      const quantity = attr(el, "data-p13n-quantity") || (field && field.value);
      const id = track(
        attr(el, "data-p13n-action"),
        quantity ? { quantity: Number(quantity) || 1 } : {},
        productOf(el),
      );
      // The form carries the event's id to the server, so a server-side track() of the same
      // action can reuse it and the action is stored once, whichever copy arrives first.
      if (form && id) {
        let input = form.elements.p13n_event_id;
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = "p13n_event_id";
          form.appendChild(input);
        }
        input.value = id;
      }
    };

    const imageView = (img, trigger) =>
      track(
        "image_view",
        { image: attr(img, "data-p13n-image") || img.currentSrc || img.src, trigger: trigger },
        productOf(img),
      );

    // "Not interested" in a recommended product: tell the server, take the item off the list.
    const notInterested = (button) => {
      const widget = closest(button, "[data-p13n-rec]");
      const url = attr(widget, "data-p13n-feedback-url");
      if (!url) return;
      fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({
          product: attr(button, "data-p13n-not-interested"),
          rec: attr(widget, "data-p13n-rec"),
          placement: attr(widget, "data-p13n-rec-placement"),
        }),
      }).then(
        guard((response) => {
          const item = response.ok && closest(button, "[data-p13n-product]");
          if (item) item.remove();
        }),
        () => undefined,
      );
    };

    on(document, "click", (e) => {
      const target = e.target;
      const dismiss = closest(target, "[data-p13n-not-interested]");
      if (dismiss) return notInterested(dismiss);
      const action = closest(target, "[data-p13n-action]");
      const link = closest(target, "a[data-p13n-product]");
      const image = closest(target, "[data-p13n-image]");
      // An action form is tracked when it is submitted, not when its button is clicked.
      if (action && action.tagName !== "FORM") trackAction(action);
      else if (link) {
        const list = attr(closest(link, "[data-p13n-list]"), "data-p13n-list");
        track("product_click", list ? { list: list } : {}, attr(link, "data-p13n-product"));
      }
      if (image) imageView(image, "click");
    });

    on(document, "submit", (e) => {
      const form = e.target;
      if (form.matches("form[data-p13n-action]")) trackAction(form, form);
      if (form.matches("form[data-p13n-search]")) {
        const input =
          form.elements[attr(form, "data-p13n-search") || "q"] ||
          form.querySelector("input[type=search],input[type=text]");
        const query = input && input.value.trim();
        if (query) track("search", { query: query.slice(0, 200) });
      }
    });

    // An image counts as seen when at least half of it stays on screen for a second.
    if (window.IntersectionObserver) {
      const pending = new Map();
      const observer = new IntersectionObserver(
        guard((entries) =>
          entries.forEach((entry) => {
            const el = entry.target;
            if (entry.isIntersecting && entry.intersectionRatio >= 0.5) {
              if (!pending.has(el)) {
                const seen = () => {
                  observer.unobserve(el);
                  imageView(el, "visible");
                };
                pending.set(el, setTimeout(guard(seen), 1000));
              }
            } else {
              clearTimeout(pending.get(el));
              pending.delete(el);
            }
          }),
        ),
        { threshold: 0.5 },
      );
      document.querySelectorAll("[data-p13n-image]").forEach((el) => observer.observe(el));
    }

    // Dwell time counts only while the page is visible; each report sends the time since the
    // previous one, so the dwell events of a page view add up to its total.
    let shownAt = document.visibilityState === "visible" ? Date.now() : 0;
    let dwell = 0;
    let depth = 0;
    let sentDepth = 0;
    const measure = () => {
      const height = document.documentElement.scrollHeight || 1;
      depth = Math.max(depth, Math.min(100, Math.round(((scrollY + innerHeight) / height) * 100)));
    };
    const hidden = () => {
      if (shownAt) dwell += Date.now() - shownAt;
      shownAt = 0;
      if (dwell >= 100) track("dwell", { seconds: Math.round(dwell / 100) / 10 }, pageProduct);
      dwell = 0;
      measure();
      if (depth > sentDepth) track("scroll_depth", { percent: depth }, pageProduct);
      sentDepth = depth;
      flush(true);
    };
    on(window, "scroll", measure, { passive: true });
    on(document, "visibilitychange", () => {
      if (document.visibilityState === "hidden") hidden();
      else shownAt = Date.now();
    });
    on(window, "pagehide", hidden);

    // window.dataLayer: gtag("event", name, params) pushes an arguments object, Google Tag
    // Manager pushes {event: name, ecommerce: {...}}.
    const fromLayer = (entry) => {
      if (!entry) return;
      const gtag = entry[0] === "event";
      const name = gtag ? entry[1] : entry.event;
      if (GA4.indexOf(name) < 0) return;
      const source = gtag ? entry[2] : entry.ecommerce || entry;
      if (source && typeof source !== "object") return;
      const params = Object.assign({}, source);
      // Tag Manager's own keys (event, gtm.uniqueEventId, ...) are no event properties.
      Object.keys(params).forEach((key) => {
        if (key === "event" || key.indexOf("gtm.") === 0) delete params[key];
      });
      const items = Array.isArray(params.items) ? params.items : [];
      if (PER_ITEM.indexOf(name) >= 0 && items.length) {
        items.forEach((item) =>
          track(name, Object.assign({}, params, { items: [item] }), item && item.item_id),
        );
      } else track(name, params);
    };
    window.p13n = {
      track: guard((name, properties) => track(name, properties)),
      flush: guard(() => flush()),
    };

    // consent.js announces a recorded choice. Consent given on this page: record its view now,
    // once (the server records the views of the pages served after).
    let viewed = consented();
    on(document, "p13n:consent", () => {
      if (!viewed && consented()) {
        viewed = true;
        track(pageProduct ? "product_view" : "page_view", {}, pageProduct, true);
      }
    });

    const layer = (window.dataLayer = window.dataLayer || []);
    const push = layer.push;
    // Entries pushed before this script ran are replayed; later ones pass through the wrapper.
    layer.forEach(guard(fromLayer));
    layer.push = function (...entries) {
      const result = push.apply(this, entries);
      entries.forEach(guard(fromLayer));
      return result;
    };
  };

  guard(start)();
})();
