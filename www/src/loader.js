// The microfunnel loader: the one script a site adds.
//
// It defines `window.microfunnel` at once, buffers clicks, submits and pushes made while the
// WebAssembly module loads, then hands them over. It never throws into the page: every call
// into the module is guarded, and a failure is logged once.
(function () {
  var w = window;
  var d = document;
  var existing = w.microfunnel;
  // A second copy of the tag must not start a second tracker.
  if (existing && existing.version) return;

  var script = d.currentScript;
  var base = script ? script.src.replace(/[^/?#]*([?#].*)?$/, '') : '/dist/';
  var early = [];
  var wasm = null;

  function now() {
    return Date.now();
  }

  function warn(text, error) {
    try {
      console.error('microfunnel: ' + text, error && error.message ? error.message : error || '');
    } catch (e) {}
  }

  function call(name, args, fallback) {
    if (!wasm) return fallback;
    try {
      return wasm[name].apply(null, args || []);
    } catch (e) {
      warn(name + ' failed', e);
      return fallback;
    }
  }

  function handle(kind, payload) {
    if (wasm) call('handle', [kind, payload, now()]);
    else if (early.length < 500) early.push([kind, payload, now()]);
  }

  function parsed(name, fallback) {
    try {
      return JSON.parse(call(name, [], fallback));
    } catch (e) {
      return JSON.parse(fallback);
    }
  }

  // Clicks and submits made before the module is ready are replayed from here. Capture phase,
  // passive, and nothing is prevented: links, forms and videos behave as they always do.
  function onEarly(event) {
    handle('dom', event);
  }
  d.addEventListener('click', onEarly, true);
  d.addEventListener('submit', onEarly, true);

  // The data layer: pushes made before and after we load reach the engine; the page's own
  // push (or a tag manager's) keeps working, since ours calls it first.
  var dataLayer = (w.dataLayer = w.dataLayer || []);
  for (var i = 0; i < dataLayer.length; i++) handle('push', dataLayer[i]);
  var pagePush = dataLayer.push;
  dataLayer.push = function () {
    var result = pagePush.apply(dataLayer, arguments);
    for (var i = 0; i < arguments.length; i++) handle('push', arguments[i]);
    return result;
  };

  var api = (w.microfunnel = {
    version: 1,
    /** Pushes a custom event, like `dataLayer.push({event: 'name', ...})`. */
    push: function (object) {
      handle('push', object);
    },
    /** Every funnel's progress, as a table in the console; also returns the rows. */
    progress: function () {
      var rows = parsed('progress', '[]');
      try {
        console.table(rows);
      } catch (e) {}
      return rows;
    },
    /** From now on, log every observation, trigger decision, funnel change and batch. */
    debug: function (on) {
      call('debug', [on !== false]);
      return on !== false;
    },
    /** Why a trigger or funnel did, or did not, fire on the last relevant observation. */
    explain: function (id) {
      var text = call('explain', [String(id)], 'microfunnel is still loading');
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
    /** Sends what waits now. */
    flush: function () {
      call('flush');
    },
  });

  function configText() {
    var url = script && script.getAttribute('data-config');
    if (url) {
      return fetch(url, { credentials: 'same-origin' }).then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status + ' for ' + url);
        return response.text();
      });
    }
    var inline = d.getElementById('microfunnel-config');
    if (inline) return Promise.resolve(inline.textContent);
    return Promise.reject(new Error('no data-config attribute and no #microfunnel-config'));
  }

  Promise.all([import(base + 'mf.js'), configText()])
    .then(function (loaded) {
      var module = loaded[0];
      return module.default({ module_or_path: base + 'mf_bg.wasm' }).then(function () {
        wasm = module;
        // Start and stop buffering in one task, so no event falls between the two.
        var queued = early;
        early = [];
        call('start', [loaded[1], queued]);
        d.removeEventListener('click', onEarly, true);
        d.removeEventListener('submit', onEarly, true);
      });
    })
    .catch(function (error) {
      warn('could not start; the page is unaffected', error);
    });
  return api;
})();
