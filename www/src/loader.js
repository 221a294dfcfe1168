// The microfunnel loader: the one script a site adds.
//
// It defines `window.microfunnel` at once, owns the tracker's DOM listeners and its timer, and
// buffers clicks, submits and pushes made while the WebAssembly module loads, then hands them
// over. It never throws into the page: every call into the module is guarded, and a failure is
// logged once.
(function () {
  var w = window;
  var d = document;
  var existing = w.microfunnel;
  // A second copy of the tag must not start a second tracker.
  if (existing && existing.version) return;

  var loadedAt = Date.now();
  // The page view is of the URL the page loaded at; route changes made while the module loads
  // are buffered and follow it in order.
  var landing = location.href;
  // The URL the tracker was last told of (see `routed`).
  var url = landing;
  var script = d.currentScript;
  var base = script ? script.src.replace(/[^/?#]*([?#].*)?$/, '') : '/dist/';
  var early = [];
  var wasm = null;
  var depth = 0;
  var timer = 0;
  // No prototype: `on("toString", fn)` is a name like any other.
  var handlers = Object.create(null);
  var ourPush = null;
  var warned = {};
  var DEBUG_KEY = 'microfunnel:debug';

  function warn(text, error) {
    if (warned[text]) return;
    warned[text] = 1;
    try {
      console.error('microfunnel: ' + text, (error && error.message) || error || '');
    } catch (e) {}
  }

  // Every call into the module goes through here. Should an exception ever unwind through the
  // module, the outermost call tells it so that it stays usable.
  function call(name, args, fallback) {
    if (!wasm) return fallback;
    depth++;
    try {
      return wasm[name].apply(null, args || []);
    } catch (e) {
      if (depth === 1) {
        try {
          wasm.unstick();
        } catch (_) {}
      }
      warn(name + ' failed', e);
      return fallback;
    } finally {
      depth--;
    }
  }

  function handle(kind, payload) {
    if (!consented()) return;
    if (wasm) call('handle', [kind, payload, Date.now()]);
    else if (early.length < 500) early.push([kind, payload, Date.now()]);
  }

  // A plain copy of a pushed value, made here so that nothing the module reads can throw: a
  // getter or a proxy that throws, a cycle (cut at the second visit), a huge graph (cut after
  // 2,000 objects). What cannot be copied is dropped with one warning.
  function plain(value) {
    var seen = new WeakSet();
    var count = 0;
    try {
      return JSON.parse(
        JSON.stringify(value, function (key, item) {
          if (item && typeof item === 'object') {
            if (seen.has(item) || ++count > 2000) return undefined;
            seen.add(item);
          }
          return item;
        }) || 'null',
      );
    } catch (e) {
      warn('a push could not be read', e);
      return null;
    }
  }

  function push(value) {
    try {
      // `gtag('consent', 'update', {...})` pushes its `arguments`.
      if (value[0] === 'consent') return consent(value[1], value[2]);
    } catch (e) {}
    if (value !== ourPush) handle('push', plain(value));
  }

  // Consent, as in consent mode: `default` and `update` commands for `analytics_storage`, from
  // `microfunnel.consent(...)` or a data-layer `gtag('consent', ...)`, over the config's
  // `consent.default` (granted when absent). Until it is granted the module does not start:
  // nothing is stored, nothing is sent, and only clicks made during `wait_for_update_ms` are
  // kept for a grant. Global Privacy Control and Do Not Track deny it whatever the commands say,
  // when the config asks. Denied after a grant: observing and sending stop, and what the tracker
  // stored in this browser is removed.
  var settings = {};
  var given = {};
  var waited = false;
  var starting = null;
  var pinged = 0;

  // Whether the browser says no: Global Privacy Control or Do Not Track, when the config
  // honours them. Then not even a cookieless page view goes.
  function refused() {
    return (settings.honor_gpc && navigator.globalPrivacyControl) || (settings.honor_dnt && navigator.doNotTrack === '1');
  }

  function consented() {
    return !refused() && (given.update || given.default || settings.default || 'granted') === 'granted';
  }

  function consent(command, value) {
    try {
      var state = value.analytics_storage;
      if (!/^(default|update)$/.test(command) || !/^(granted|denied)$/.test(state)) throw 0;
      given[command] = state;
      decide();
    } catch (e) {
      // `consent()` alone only asks for the state.
      if (command) warn('consent: expected ("default" or "update", { analytics_storage })');
    }
    return consented() ? 'granted' : 'denied';
  }

  function decide() {
    if (consented()) {
      var start = starting;
      if (start && (waited || given.update)) {
        starting = null;
        start();
      }
      return;
    }
    // Denied, and the config asks for cookieless page views: one for this page load, once the
    // wait for an update is over, unless the browser says no or the tracker already counted
    // this page (a revocation after a grant).
    // TODO: route changes while denied make no cookieless page view.
    if (waited && settings.cookieless && !pinged && !wasm && !refused()) {
      pinged = 1;
      ping('page_view', {}, 'cookieless');
    }
    early = [];
    // The route changes buffered with the rest are gone too (see `routed`).
    landing = url;
    // Denied by default on a page that has not started: earlier pages' grant stands in storage
    // until an explicit revocation.
    if (!wasm && given.update !== 'denied') return;
    try {
      for (var i = localStorage.length; i--; ) {
        var key = localStorage.key(i);
        if (/^(mf|microfunnel):/.test(key)) localStorage.removeItem(key);
      }
    } catch (e) {}
  }

  // The module's answer to `ask(name)`, parsed; `fallback` while it is loading or busy.
  function parsed(name, fallback) {
    try {
      return JSON.parse(call('ask', [name, '']) || fallback);
    } catch (e) {
      return JSON.parse(fallback);
    }
  }

  // How far down the page the bottom of the viewport is, in percent; nothing for a page that
  // cannot scroll. An element that scrolled counts instead when it fills most of the viewport
  // and has more room to scroll than the page (an app shell's `<main>` with `overflow: auto`);
  // any other element's scrolling (a small box, a sidebar) says nothing of the page's depth.
  function scrollPercent(target) {
    var root = d.scrollingElement || d.documentElement;
    if (target && target !== d) {
      if (
        target.clientHeight * 2 < w.innerHeight ||
        target.clientWidth * 2 < w.innerWidth ||
        target.scrollHeight - target.clientHeight < root.scrollHeight - root.clientHeight
      ) {
        return null;
      }
      root = target;
    }
    var height = root.scrollHeight;
    var view = root.clientHeight;
    if (height <= view) return null;
    return Math.min(100, ((root.scrollTop + view) / height) * 100);
  }

  // One listener for every DOM event the tracker needs: capture phase (media events do not
  // bubble, and a page handler that stops propagation must not hide a click), passive, and
  // nothing is ever prevented, so links, forms and videos behave as they always do. The
  // listener reads what the module needs and hands it over; before the module is ready only
  // clicks and submits are kept, since the rest has no lasting meaning (the scroll position is
  // read again at start).
  function onEvent(event) {
    var type = event.type;
    var target = event.target;
    if (type === 'click' || type === 'submit') return handle(type, target);
    // A form's first input on this page (typing, a choice) by the visitor, not by a script:
    // `form_start`, once per form. A custom element's `form` may be anything, or throw.
    if (type === 'input') {
      try {
        var form = target.form;
      } catch (e) {}
      if (event.isTrusted && form instanceof HTMLFormElement && !started.has(form) && consented()) {
        handle('form_start', form, started.add(form));
      }
      return;
    }
    if (type === 'popstate' || type === 'hashchange') return routed(type);
    // Uncaught errors of the page's scripts (a resource that failed to load has no message),
    // at most 20 a page so that an error in a loop does not flood the queue.
    if (type === 'error') return event.message && pageErrors++ < 20 && handle(type, [event.message, event.filename, event.lineno]);
    // The page's lock (see `hold`): let go as the page goes (a page holding one may be kept out
    // of the back/forward cache), and taken again when it comes back from there.
    if (type === 'pagehide' && unlock) unlock();
    if (type === 'pageshow' && event.persisted) hold();
    if (!wasm) return;
    if (type === 'scroll') {
      var percent = scrollPercent(target);
      if (percent !== null) handle('scroll', percent);
    } else if (type === 'pagehide' || (type === 'visibilitychange' && d.hidden)) {
      handle('hide');
    } else if (type === 'pageshow' || type === 'visibilitychange') {
      // Back from the back/forward cache, or back in front: another tab may have moved on.
      handle('show');
      applyClasses();
    } else if (target instanceof HTMLMediaElement) {
      handle(type, [target, target.currentTime, target.duration, target.currentSrc, 'html5', target.title || target.getAttribute('aria-label')]);
    }
  }
  var pageErrors = 0;
  var started = new WeakSet();
  // All on the window, whose capture phase comes first of all: a document's events
  // (`visibilitychange`) reach it too.
  ('click submit input play timeupdate ended pause seeked visibilitychange scroll pagehide pageshow ' +
    'popstate hashchange error').split(' ').forEach(function (type) {
    w.addEventListener(type, onEvent, { capture: true, passive: true });
  });

  // The data layer: pushes made before and after we load reach the engine; the page's own
  // push (or a tag manager's) keeps working, since ours calls it first.
  var dataLayer = w.dataLayer;
  if (!dataLayer || typeof dataLayer.push !== 'function') dataLayer = w.dataLayer = [];
  try {
    for (var at = 0; at < dataLayer.length; at++) push(dataLayer[at]);
    var pagePush = dataLayer.push;
    dataLayer.push = function () {
      var result = pagePush.apply(dataLayer, arguments);
      for (var i = 0; i < arguments.length; i++) push(arguments[i]);
      return result;
    };
  } catch (e) {
    warn('the data layer cannot be observed', e);
  }

  // DOM ready and window loaded, for the `dom_ready` and `window_loaded` triggers: handed to
  // the module as data-layer events of those names (never pushed to the page's data layer),
  // each once, in that order, from the module's start on (which comes after consent), so that
  // neither is lost to a consent that comes late, however late the tag ran.
  var stages = 0;
  function stage() {
    if (!wasm) return;
    var state = d.readyState;
    if (state !== 'loading' && !stages) handle('push', { event: 'dom_ready' }, stages++);
    if (state === 'complete' && stages < 2) handle('push', { event: 'window_loaded' }, stages++);
  }
  d.addEventListener('readystatechange', stage);
  stage();

  // Route changes without a page load. The URL is compared once the task that changed it ends,
  // so that a router's `pushState` followed by its own `replaceState` is one change, and a
  // `pushState` to the same URL is none. The page's own calls behave as before: ours runs after
  // theirs and an exception of theirs reaches them unchanged.
  // A new URL is a new (virtual) page unless only its fragment changed and that fragment is an
  // anchor (`#reviews`), not a route (`#/cart`, `#!/cart`).
  var routing = 0;
  function page(href) {
    return href.replace(/#(?![/!]).*/, '');
  }
  function routed(source) {
    routing =
      routing ||
      setTimeout(function () {
        var old = url;
        routing = 0;
        url = location.href;
        // Without consent the change is not kept, so the tracker, once it may start, starts
        // on the page the visitor is on by then.
        if (!consented()) landing = url;
        else if (url !== old) {
          handle('route', [url, d.title, source, page(url) !== page(old), old]);
          youtube();
        }
      });
  }
  try {
    ['pushState', 'replaceState'].forEach(function (name) {
      // Wrapped where the method is: on the prototype, unless the page put its own on
      // `history`. A wrapper the page puts on the prototype after us then calls ours, and
      // one it puts on `history` runs before ours.
      var owner = history.hasOwnProperty(name) ? history : History.prototype;
      var original = owner[name];
      owner[name] = function () {
        var result = original.apply(this, arguments);
        routed(name);
        return result;
      };
    });
  } catch (e) {}

  // The YouTube add-on (youtube.js), loaded only where it has something to do: a video
  // trigger in the config and a player that talks (`enablejsapi=1`) on the page, at start or
  // after a route change.
  var tube;
  function youtube() {
    if (tube && wasm && d.querySelector('iframe[src*="enablejsapi=1"]')) {
      tube = 0;
      // A failure names the file, in the browser's words.
      import(base + 'mf-youtube.js').then(function (addon) {
        addon.default(handle);
      }, warn);
    }
  }

  // `<html>` classes per funnel that asks for them: `mf-checkout-step-2`, `mf-checkout-complete`.
  function applyClasses() {
    try {
      var list = d.documentElement.classList;
      parsed('progress', '[]').forEach(function (row) {
        if (!row.css_class) return;
        var prefix = 'mf-' + String(row.funnel).replace(/[^\w-]/g, '-') + '-';
        [].slice.call(list).forEach(function (name) {
          if (name.indexOf(prefix) === 0) list.remove(name);
        });
        if (row.step > 0) list.add(prefix + 'step-' + row.step);
        if (row.complete) list.add(prefix + 'complete');
      });
    } catch (e) {
      warn('could not set funnel classes', e);
    }
  }

  // Called by the module after each funnel change. A page callback that throws is reported
  // and the others still run. Changes caused from inside a callback wait their turn, so that
  // everyone hears every change in order.
  var changes = [];
  function notify(name, paramsJson) {
    changes.push([name, JSON.parse(paramsJson)]);
    if (changes.length > 1) return;
    while (changes.length) {
      name = changes[0][0];
      var params = changes[0][1];
      (handlers[name] || []).forEach(function (fn) {
        try {
          fn(params);
        } catch (e) {
          warn('a microfunnel.on("' + name + '") callback threw', e);
        }
      });
      var pushed = { event: 'microfunnel.' + name };
      Object.assign(pushed, params);
      ourPush = pushed;
      try {
        dataLayer.push(pushed);
      } catch (e) {
        warn('the data layer refused a push', e);
      }
      ourPush = null;
      changes.shift();
    }
    applyClasses();
  }

  // The module's one timer: when the queue is due.
  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(function () {
      call('flush');
    }, ms);
  }

  // Bodies handed to the network with no answer yet, shared by the site's tabs. A page that goes
  // away first (a beacon nobody hears back from, a fetch cut short, a collector that is down)
  // leaves them here, and the next page sends them again: the collector ignores the event ids
  // it already has, so nothing is counted twice and nothing unanswered is lost.
  // One key per body (`microfunnel:pending:<id>`), so that keeping or forgetting one never
  // rewrites the others: one key for all of them, rewritten on every send and answer, cost
  // milliseconds per event once it held a few large bodies (found by `cargo xtask bench`).
  var PENDING = 'microfunnel:pending:';
  var tab = loadedAt.toString(36) + Math.random().toString(36).slice(2, 8);

  // The ids of the pending bodies, oldest first (an id starts with the time it was sent).
  function pendingIds() {
    var ids = [];
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var key = localStorage.key(i);
        if (key.indexOf(PENDING) === 0) ids.push(key.slice(PENDING.length));
      }
    } catch (e) {}
    return ids.sort();
  }

  // Keeps a body, and at most the 20 newest.
  function store(id, entry) {
    try {
      localStorage.setItem(PENDING + id, JSON.stringify(entry));
    } catch (e) {}
    var ids = pendingIds();
    while (ids.length > 20) unstore(ids.shift());
  }

  function unstore(id) {
    try {
      localStorage.removeItem(PENDING + id);
    } catch (e) {}
  }

  // After a failed request, requests wait: 1 s, doubling up to 30 s, jittered so that the pages
  // of a site that went down do not all come back at once, and never less than a 429's or a
  // 503's `Retry-After`. They also wait while the browser is offline, until it is online again.
  // A beacon (the page is going away) never waits: what it loses stays pending for the next page.
  var fails = 0;
  var retryAt = 0;
  var held = [];

  // Sends what waits, once the wait is over; a timer may wake it a fraction of a millisecond
  // early by the clock `Date.now()` reads, and it then sleeps again.
  function release() {
    var left = retryAt - Date.now();
    if (left > 0) return setTimeout(release, left);
    var list = held;
    held = [];
    list.forEach(function (go) {
      go();
    });
  }
  w.addEventListener('online', function () {
    retryAt = 0;
    release();
  });

  // Learns from an answer when the next request may go (`after` is its Retry-After header);
  // true when the answer is final, a success or a refusal that a retry cannot change.
  function pace(status, after) {
    if (status && status !== 408 && status !== 429 && status < 500) {
      fails = retryAt = 0;
      release();
      return true;
    }
    var wait = Math.min(30000, 1000 * Math.pow(2, fails++)) * (0.5 + Math.random() / 2);
    var asked = after ? (+after >= 0 ? after * 1000 : Date.parse(after) - Date.now()) : 0;
    wait = Math.max(wait, Math.min(asked, 3600000) || 0);
    retryAt = Date.now() + wait;
    setTimeout(release, wait);
  }

  // Sends a body; `answer(status, final)` hears how it ended, 0 meaning no answer, and
  // whether that is final (delivered, or refused for good). Returns true when the browser took
  // a beacon, whose outcome nobody hears. The body stays pending under `id` until an answer:
  // the module queues the events of a failed batch again itself. A resent body is kept by its
  // caller (`id` 0), and goes without `keepalive`: a page resending many would overrun the
  // 64 KB that keepalive requests may have in flight, and one cut short by the page leaving
  // stays pending.
  function post(id, endpoint, body, beacon, answer) {
    if (id) store(id, [endpoint, body]);
    try {
      if (beacon && navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return true;
    } catch (e) {}
    function done(status, after) {
      var final = pace(status, after);
      if (id) unstore(id);
      answer(status, final);
    }
    function go() {
      // Consent revoked while this request waited: it never goes.
      if (!consented()) return;
      if (!beacon && (Date.now() < retryAt || navigator.onLine === false)) return held.push(go);
      try {
        // The answer is read to its end before it counts: a keep-alive request holds its
        // body's bytes of the page's 64 KB keep-alive quota until its response is consumed, and
        // once unread answers fill it every later fetch fails at once.
        fetch(endpoint, {
          method: 'POST',
          body: body,
          // A text body is sent as `text/plain;charset=UTF-8`, a simple request: no preflight.
          keepalive: !!id,
        }).then(
          function (response) {
            // A page's own `fetch` may resolve to anything: whatever it is, `done` runs once.
            function end() {
              var after = null;
              try {
                after = response.headers.get('Retry-After');
              } catch (e) {}
              done(response.status | 0, after);
            }
            try {
              response.text().then(end, end);
            } catch (e) {
              done(0);
            }
          },
          function () {
            done(0);
          },
        );
      } catch (e) {
        setTimeout(function () {
          done(0);
        }, 0);
      }
    }
    go();
    return false;
  }

  // Sending is plain I/O, done here so that no exception can escape it: the module decides
  // what to send and when, and hears back through `delivered(batch, status)`.
  // Element visibility, for the module's visibility triggers. Each `[id, selector, ratio, ms]`
  // watches the elements that match `selector`, now and as the page adds them (looked for at
  // most every 100 ms), and reports an element once it has been at least `ratio` visible for
  // `ms` without a break; it must leave and come back to be reported again. Whether that fires
  // (once per page, per element, every time) is the module's decision.
  var keys = new WeakMap();
  var elements = 0;
  function watch(json) {
    JSON.parse(json).forEach(function (spec) {
      // A timer trigger: `[id, null, limit, interval]`, counted from the module's start. A
      // limit may be 1.5 (it stops after 2; 0 is no limit), and an interval past the 2^31 - 1
      // ms a browser's timer holds would wrap to nothing and fire without pause: 2e9 ms (23
      // days) is never, for a page.
      if (spec[1] === null) {
        var count = 0;
        var every = setInterval(function () {
          handle('timer', [spec[0], ++count]);
          if (count >= spec[2] && spec[2]) clearInterval(every);
        }, Math.min(spec[3], 2e9));
        return;
      }
      // A weak map: an element the page removed must not be kept alive by its timer.
      var timers = new WeakMap();
      var later = 0;
      var observer;
      function scan() {
        later = 0;
        d.querySelectorAll(spec[1]).forEach(function (element) {
          observer.observe(element);
        });
      }
      // Each watch on its own, so that a browser without IntersectionObserver still runs the
      // timers and the other watches.
      try {
        observer = new IntersectionObserver(
          function (entries) {
            entries.forEach(function (entry) {
              var element = entry.target;
              clearTimeout(timers.get(element));
              // Browsers may report 0.4999 as an element crosses a 0.5 threshold.
              if (entry.isIntersecting && entry.intersectionRatio > spec[2] - 0.01) {
                timers.set(
                  element,
                  setTimeout(function () {
                    if (!keys.has(element)) keys.set(element, ++elements);
                    handle('visible', [element, spec[0], keys.get(element)]);
                  }, spec[3]),
                );
              }
            });
          },
          { threshold: spec[2] },
        );
        scan();
        new MutationObserver(function () {
          later = later || setTimeout(scan, 100);
        }).observe(d.documentElement, { childList: true, subtree: true });
      } catch (e) {
        warn('element visibility cannot be watched', e);
      }
    });
  }

  // The config's `privacy.redact_query_params`, as one pattern (see `clean`).
  var redact = null;

  // What every body goes through before it is stored or sent. E-mail addresses
  // (`jo@shop.example`, `jo%40shop.example` in a URL) never leave the page, wherever they were:
  // a URL, a title, a click text, a data-layer value. A match starts only where a run of
  // address characters starts (so a long run costs linear time), and never on the letter of a
  // JSON escape such as `\n` (so the JSON stays whole); it holds no quote and no backslash.
  // Nor do the values of the query parameters the config names (`?token=[redacted]&page=2`),
  // in every URL and text: a value ends at `&`, `#`, a quote, a backslash or a space.
  // TODO: a backslash that is itself escaped (`\\` before `\n`) fools the look-behind, and
  // the replacement then breaks the JSON; matching inside parsed strings would not.
  function clean(body) {
    body = body.replace(
      /(?<=^|[^\w.%+\\-]|\\[nrtbf"\\/]|\\u[\da-f]{4})[\w.%+-]+(@|%40)[a-z\d-]+(\.[a-z\d-]+)+/gi,
      '[email]',
    );
    return redact ? body.replace(redact, '$1[redacted]') : body;
  }

  // A batch of one event made here, for when the module does not run: `tracking_blocked` (the
  // page's Content Security Policy refused the module) and, while consent is denied, the
  // cookieless `page_view` the config may ask for. It goes once, cleaned as every body is,
  // under a made-up visitor and session (`c-<who>`, `s-<who>`) that count no one, and is kept
  // nowhere.
  function ping(name, params, who) {
    config
      .then(function (text) {
        var json = JSON.parse(text);
        var now = Date.now();
        var batch = {
          v: 1,
          site: json.site,
          client_id: 'c-' + who,
          session_id: 's-' + who,
          events: [
            {
              id: who + '.' + now + '.' + tab,
              name: name,
              ts: now,
              seq: 0,
              page: { url: url, path: location.pathname, title: d.title, referrer: d.referrer },
              params: params,
            },
          ],
        };
        return fetch((json.collector || {}).endpoint || '/collect', {
          method: 'POST',
          body: clean(JSON.stringify(batch)),
          keepalive: true,
        });
      })
      .catch(function () {});
  }

  // The module's queue as it last handed it over, and the timer that writes it.
  var kept = null;
  var keeping = 0;

  function transmit(endpoint, body, beacon, batch) {
    if (!consented()) return false;
    // The module's queue itself (`batch` -1), one body per line, nothing when it is empty:
    // kept for a tab that dies without a page-hide event, and sent by the next page as any
    // pending body is. Written at most every 250 ms, the latest one handed over, since
    // cleaning and storing a whole queue on every event cost more than all the rest (found by
    // `cargo xtask bench`): a crash loses at most the last 250 ms. Its key sorts after the
    // others (a letter after digits), so it is the last to make room for newer bodies.
    // An empty queue (everything went, as when the page hides) is forgotten at once.
    if (batch < 0) {
      kept = [endpoint, body];
      if (!body) unstore(tab);
      else
        keeping =
          keeping ||
          setTimeout(function () {
            keeping = 0;
            if (consented() && kept[1]) store(tab, [kept[0], clean(kept[1])]);
          }, 250);
      return false;
    }
    body = clean(body);
    // Keys start with the time, so that sorting them puts the oldest first.
    return post(Date.now() + '.' + tab + '.' + batch, endpoint, body, beacon, function (status) {
      call('delivered', [batch, status]);
    });
  }

  // What earlier pages left unanswered goes again; what fails again stays for the next page.
  // Not what a living page still sends itself (its queue, its requests awaiting an answer):
  // every page holds a Web Lock named after it while it lives, and the bodies of a page whose
  // lock is held are left alone. One page at a time looks (another lock), so that two pages
  // starting together never both take the same body. A body taken is the taker's, under a
  // new key with its name. Without Web Locks, a page leaves only its own bodies alone.
  var LOCK = 'microfunnel:lock:';
  var locks = navigator.locks;
  var taken = 0;
  var unlock;
  function hold() {
    try {
      locks
        .request(LOCK + tab, function () {
          return new Promise(function (done) {
            unlock = done;
          });
        })
        .catch(warn);
    } catch (e) {}
  }
  hold();
  function resendPending() {
    try {
      locks
        .request(LOCK, function () {
          return locks.query().then(function (state) {
            resend(JSON.stringify(state.held));
          });
        })
        .catch(resend);
    } catch (e) {
      resend();
    }
  }
  // `living`: the held locks, as text.
  function resend(living) {
    pendingIds().forEach(function (id) {
      // The page that wrote it: `<time>.<page>.<n>`, or `<page>` for its queue.
      var owner = id.split('.')[1] || id;
      if (owner === tab || String(living).indexOf(LOCK + owner) >= 0) return;
      var entry = null;
      try {
        entry = JSON.parse(localStorage.getItem(PENDING + id));
      } catch (e) {}
      unstore(id);
      if (!entry || typeof entry[1] !== 'string') return;
      // This page's now, under one key for all its bodies (a queue kept by a tab that died is
      // several, one a line), until every one of them has a final answer.
      var key = Date.now() + '.' + tab + '.r' + taken++;
      var lines = entry[1].split('\n');
      var left = lines.length;
      var ok = 1;
      store(key, entry);
      // TODO: what fails here waits for this page to go (its lock), and a Retry-After heard
      // by an earlier page is not known here.
      lines.forEach(function (body) {
        post(0, entry[0], body, false, function (status, final) {
          ok = ok && final;
          if (!--left && ok) unstore(key);
        });
      });
    });
  }

  w.microfunnel = {
    version: 1,
    /** Pushes a custom event, like `dataLayer.push({event: 'name', ...})`. */
    push: push,
    /** Every funnel's progress, as a table in the console; also returns the rows. */
    progress: function () {
      var rows = parsed('progress', '[]');
      try {
        console.table(rows);
      } catch (e) {}
      return rows;
    },
    /** From now on, on this page and the next ones, log every trigger decision, funnel
     * change and batch; `debug(false)` stops. */
    debug: function (on) {
      on = on !== false;
      call('debug', [on]);
      try {
        if (on) localStorage.setItem(DEBUG_KEY, '1');
        else localStorage.removeItem(DEBUG_KEY);
      } catch (e) {}
      return on;
    },
    /** Why a trigger or funnel did, or did not, fire on the last relevant observation. */
    explain: function (id) {
      var text = call('ask', ['explain', String(id)]) || 'microfunnel is still loading';
      try {
        console.log(text);
      } catch (e) {}
      return text;
    },
    /** The most recent events, oldest first. */
    events: function () {
      return parsed('events', '[]');
    },
    /** What waits to be sent, what failed and how many were dropped. */
    queue: function () {
      return parsed('queue', '{}');
    },
    /** `consent('update', { analytics_storage: 'granted' })`; returns the state in force. */
    consent: consent,
    /** Sends what waits now. */
    flush: function () {
      call('flush');
    },
    /** Calls `fn(params)` on each `funnel_step`, `funnel_complete` or `funnel_abandon`. */
    on: function (type, fn) {
      if (typeof fn === 'function') (handlers[type] = handlers[type] || []).push(fn);
    },
    /** Forgets every funnel's progress. */
    reset: function () {
      if (consented()) call('reset');
      applyClasses();
    },
  };

  function configText() {
    var source = script && script.getAttribute('data-config');
    if (source) {
      return fetch(source, { credentials: 'same-origin' }).then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status + ' for ' + source);
        return response.text();
      });
    }
    var inline = d.getElementById('microfunnel-config');
    if (inline) return Promise.resolve(inline.textContent);
    return Promise.reject(new Error('no data-config attribute and no #microfunnel-config'));
  }

  // The config and the module load at the same time; neither waits for the other. A config
  // with a `preset` goes through its add-on (ga4.js) first, which adds the preset's triggers.
  var config = configText().then(function (text) {
    // Should the add-on not load, the config runs without the preset.
    return /"preset"/.test(text) ? import(base + 'mf-ga4.js').then(function (addon) {
      return addon.default(text);
    }, function (error) {
      warn('the preset could not load', error);
      return text;
    }) : text;
  }).then(function (text) {
    tube = /"on"\s*:\s*"video"/.test(text);
    try {
      var json = JSON.parse(text);
      settings = json.consent || {};
      var names = json.privacy.redact_query_params.map(function (name) {
        return String(name).replace(/\W/g, '\\$&');
      });
      if (names.length) redact = new RegExp('([?&#](' + names.join('|') + ')=)[^&#"\\\\\\s]*', 'gi');
    } catch (e) {}
    setTimeout(function () {
      waited = true;
      decide();
    }, +settings.wait_for_update_ms || 0);
    return text;
  });
  // Handled at the end of the chain below, which the module's load may reach only later: until
  // then a failed fetch of the config must not reach the page as an unhandled rejection.
  config.catch(function () {});
  import(base + 'mf.js')
    .then(function (module) {
      return module.default(base + 'mf_bg.wasm').then(function () {
        return config.then(function (text) {
          starting = function () {
            wasm = module;
            var queued = early;
            early = [];
            var about = [landing, d.title, d.referrer, navigator.userAgent];
            try {
              about.push(!!localStorage.getItem(DEBUG_KEY));
            } catch (e) {}
            call('start', [text, queued, [notify, schedule, transmit, watch], loadedAt, about]);
            resendPending();
            stage();
            // A visitor who scrolled while the module loaded has passed thresholds already.
            var root = d.scrollingElement || d.documentElement;
            if (root.scrollTop > 0) onEvent({ type: 'scroll' });
            applyClasses();
            youtube();
          };
          decide();
        });
      });
    })
    .catch(function (error) {
      // A Content Security Policy without 'wasm-unsafe-eval' in script-src refuses to compile
      // the module. The site owner hears of it twice: in the console, and once per page load in
      // the reports, as a `tracking_blocked` event (sent as any batch is, so consent and
      // the e-mail filter apply), under one made-up visitor so that it counts no one.
      if (!/Content Security Policy/.test(error)) throw error;
      warn(
        "blocked by the page's Content Security Policy: add 'wasm-unsafe-eval' to its " +
          'script-src directive. The page is unaffected',
      );
      starting = function () {
        ping('tracking_blocked', { reason: 'csp', directive: "script-src 'wasm-unsafe-eval'" }, 'blocked');
      };
      decide();
    })
    .catch(function (error) {
      warn('could not start; the page is unaffected', error);
    });
})();
