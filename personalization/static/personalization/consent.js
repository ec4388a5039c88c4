/*! personalization consent.js | see docs/consent.md */
/*
 * Browser side of the consent banner. No dependencies and no inline script: {% consent_banner %}
 * renders the banner (hidden) and
 *
 *   <script src=".../consent.min.js" defer data-version="1" data-cookie="p13n_consent"
 *           data-endpoint="/personalization/api/consent/" data-source="banner"
 *           data-opt-out="marketing" data-cmp-map="..."></script>
 *
 * The markup is the same for every visitor, so pages may come from a full-page cache: this file
 * reads the consent cookie and shows the banner when it is missing or was written under another
 * policy version than data-version. A choice is posted to the consent API, whose answer records
 * it and sets the cookie (this file never writes the cookie); on success the banner closes and a
 * "p13n:consent" event ({detail: {version, granted, method}}) goes to document, which tracker.js
 * listens to. On failure the banner stays open with an error message.
 *
 * Links marked data-p13n-consent-open reopen the banner with a switch per category;
 * data-p13n-do-not-sell opens it with the opt-out categories (marketing) switched off.
 *
 * With data-source="tcf" or "onetrust" no banner is shown: the answer of the site's
 * consent-management platform (IAB TCF v2.2 __tcfapi, or OneTrust's active groups) is mapped to
 * our categories with data-cmp-map and posted with method "cmp", so that the server's cookie and
 * consent log follow the CMP.
 *
 * Edit this file, then rebuild consent.min.js with `make js`.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  if (!script || window.p13nConsent) return;
  const config = script.dataset;
  const version = config.version || "";
  const endpoint = config.endpoint;
  const cookieName = config.cookie || "p13n_consent";
  const source = config.source || "banner";
  const optOut = (config.optOut || "").split("+").filter(Boolean);
  let cmpMap = {};
  try {
    cmpMap = JSON.parse(config.cmpMap || "{}");
  } catch (e) {
    cmpMap = {};
  }

  // The cookie's choice when it was made under the current policy version, else null.
  const currentChoice = () => {
    const match = document.cookie.match("(?:^|;)\\s*" + cookieName + "=([^;]*)");
    if (!match) return null;
    const parts = decodeURIComponent(match[1]).replace(/"/g, "").split(":");
    if (parts.length !== 2 || parts[0] !== version) return null;
    return { version: parts[0], granted: parts[1] ? parts[1].split("+") : [] };
  };

  const answerOf = (response) => {
    if (!response.ok) throw new Error("consent API answered " + response.status);
    return response.json();
  };

  // GET gives the CSRF token the POST needs (and the GPC signal the server sees); asked once.
  let state = null;
  const fetchState = () => {
    state =
      state ||
      fetch(endpoint, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      }).then(answerOf);
    state.catch(() => {
      state = null;
    });
    return state;
  };

  const post = (granted, method) =>
    fetchState()
      .then((current) =>
        fetch(endpoint, {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRFToken": current.csrf_token,
          },
          body: JSON.stringify({ granted: granted, method: method }),
        }),
      )
      .then(answerOf)
      .then(
        (answer) => {
          document.dispatchEvent(
            new CustomEvent("p13n:consent", {
              detail: { version: answer.policy_version, granted: answer.granted, method: method },
            }),
          );
          return answer;
        },
        (error) => {
          state = null; // a refused CSRF token is fetched again next time
          throw error;
        },
      );

  window.p13nConsent = { open: () => {} };

  // --- a consent-management platform decides ------------------------------------------------
  if (source === "tcf" || source === "onetrust") {
    const categories = Object.keys(cmpMap);
    const sameSet = (a, b) => a.length === b.length && a.every((x) => b.indexOf(x) >= 0);
    const memoryKey = "p13n_cmp_synced";
    const sync = (granted) => {
      const key = version + ":" + granted.join("+");
      let synced = null;
      try {
        synced = localStorage.getItem(memoryKey);
      } catch (e) {
        synced = null;
      }
      const choice = currentChoice();
      // Posted already: the cookie may still differ, when the server took out what GPC denies.
      if (choice && (synced === key || sameSet(choice.granted, granted))) return;
      post(granted, "cmp").then(() => {
        try {
          localStorage.setItem(memoryKey, key);
        } catch (e) {
          // Without storage the choice is compared with the cookie only.
        }
      }, () => {});
    };
    const waitFor = (ready, run, tries) => {
      if (ready()) run();
      else if (tries > 0) setTimeout(() => waitFor(ready, run, tries - 1), 250);
    };

    if (source === "tcf") {
      // Consent is known once the CMP has a TC string ("tcloaded") or the visitor has just
      // chosen ("useractioncomplete"); while its UI is shown ("cmpuishown") nothing is posted.
      const fromTcData = (tcData) => {
        if (tcData.gdprApplies === false) return categories;
        const consents = (tcData.purpose && tcData.purpose.consents) || {};
        return categories.filter((c) => cmpMap[c].every((purpose) => consents[purpose] === true));
      };
      waitFor(
        () => typeof window.__tcfapi === "function",
        () =>
          window.__tcfapi("addEventListener", 2, (tcData, success) => {
            const status = tcData && tcData.eventStatus;
            if (success && (status === "tcloaded" || status === "useractioncomplete")) {
              sync(fromTcData(tcData));
            }
          }),
        40,
      );
    } else {
      // OneTrust: the active groups count once the visitor has closed its banner
      // (OptanonAlertBoxClosed); before that they are the template's defaults, not a choice.
      const chosen = () => /(?:^|;)\s*OptanonAlertBoxClosed=/.test(document.cookie);
      const groups = (list) =>
        Array.isArray(list) ? list : String(window.OnetrustActiveGroups || "").split(",");
      const fromGroups = (list) => {
        const active = groups(list).filter(Boolean);
        return categories.filter((c) => cmpMap[c].every((group) => active.indexOf(group) >= 0));
      };
      const update = (list) => {
        if (chosen() && (Array.isArray(list) || window.OnetrustActiveGroups !== undefined)) {
          sync(fromGroups(list));
        }
      };
      const previous = window.OptanonWrapper;
      window.OptanonWrapper = function (...args) {
        if (typeof previous === "function") previous.apply(this, args);
        update();
      };
      window.addEventListener("OneTrustGroupsUpdated", (e) => update(e.detail));
      update();
    }
    return;
  }

  // --- our banner ----------------------------------------------------------------------------
  const root = document.getElementById("p13n-consent");
  if (!root) return;
  const find = (selector) => root.querySelector(selector);
  const button = (name) => find('[data-p13n-consent-action="' + name + '"]');
  const details = find(".p13n-consent__details");
  const errorBox = find("[data-p13n-consent-error]");
  const allSwitches = () => Array.from(root.querySelectorAll(".p13n-consent__switch"));
  const switches = () => allSwitches().filter((s) => !s.disabled);
  const visible = (el) => !el.disabled && el.getClientRects().length > 0;
  const focusables = () =>
    Array.from(root.querySelectorAll("button, input, a[href]")).filter(visible);
  let returnFocus = null;
  let busy = false;

  const showDetails = (show) => {
    details.hidden = !show;
    button("save").hidden = !show;
    button("customize").setAttribute("aria-expanded", String(show));
  };

  // The browser's Global Privacy Control keeps the opt-out categories off.
  const honourGpc = () => {
    allSwitches().forEach((s) => {
      if (optOut.indexOf(s.value) >= 0) {
        s.checked = false;
        s.disabled = true;
      }
    });
    find("[data-p13n-consent-gpc]").hidden = false;
  };

  const open = (options) => {
    const settings = options || {};
    if (root.hidden) returnFocus = document.activeElement;
    const choice = currentChoice();
    const granted = settings.granted || (choice ? choice.granted : []);
    switches().forEach((s) => {
      s.checked = granted.indexOf(s.value) >= 0;
    });
    errorBox.hidden = true;
    showDetails(Boolean(settings.customize));
    root.hidden = false;
    if (navigator.globalPrivacyControl === true) honourGpc();
    fetchState().then(
      (current) => current.gpc && honourGpc(),
      () => {},
    );
    const target = settings.focus || (settings.customize && switches()[0]) || root;
    target.focus();
  };

  const close = () => {
    root.hidden = true;
    const target = returnFocus;
    returnFocus = null;
    if (target && target !== document.body && document.contains(target)) target.focus();
  };

  const choose = (granted) => {
    if (busy) return;
    busy = true;
    root.setAttribute("aria-busy", "true");
    errorBox.hidden = true;
    const done = () => {
      busy = false;
      root.removeAttribute("aria-busy");
    };
    post(granted, "banner").then(
      () => {
        done();
        close();
      },
      () => {
        done();
        errorBox.hidden = false;
      },
    );
  };

  root.addEventListener("click", (e) => {
    const target = e.target.closest("[data-p13n-consent-action]");
    const action = target && target.getAttribute("data-p13n-consent-action");
    if (action === "accept") choose(allSwitches().map((s) => s.value).filter((v) => v !== "necessary"));
    else if (action === "reject") choose([]);
    else if (action === "save") choose(switches().filter((s) => s.checked).map((s) => s.value));
    else if (action === "customize") {
      const show = details.hidden;
      showDetails(show);
      (show && switches()[0] ? switches()[0] : target).focus();
    }
  });

  root.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      // Escape folds the details away; it never dismisses the banner without a choice.
      e.preventDefault();
      if (!details.hidden) {
        showDetails(false);
        button("customize").focus();
      } else if (currentChoice()) close();
      return;
    }
    if (e.key !== "Tab") return;
    // aria-modal: Tab and Shift+Tab go round inside the banner.
    const items = focusables();
    const first = items[0];
    const last = items[items.length - 1];
    const active = document.activeElement;
    if (e.shiftKey && (active === first || active === root)) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && active === last) {
      e.preventDefault();
      first.focus();
    }
  });

  // Focus that leaves the open banner (a click on the backdrop, script) is brought back.
  document.addEventListener("focusin", (e) => {
    if (!root.hidden && !root.contains(e.target)) root.focus();
  });

  document.addEventListener("click", (e) => {
    const link = e.target.closest && e.target.closest("[data-p13n-consent-open],[data-p13n-do-not-sell]");
    if (!link) return;
    e.preventDefault();
    if (link.hasAttribute("data-p13n-do-not-sell")) {
      const choice = currentChoice();
      const kept = (choice ? choice.granted : []).filter((c) => optOut.indexOf(c) < 0);
      open({ customize: true, granted: kept, focus: button("save") });
    } else open({ customize: true });
  });

  window.p13nConsent = { open: () => open({ customize: true }) };

  // The consent pages (no-script fallback) ask themselves; elsewhere, ask when there is no choice.
  if (!currentChoice() && !document.querySelector("[data-p13n-consent-page]")) open();
})();
