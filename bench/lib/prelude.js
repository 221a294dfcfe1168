// Injected as an inline script before the tracker's tag on every benchmark page, the same for
// every tracker and for none. It notes when the tag was reached and when the tracker said it
// was ready, times WebAssembly compilation, and collects long tasks and interaction timings.
(function () {
  var b = (window.__bench = {
    tag: performance.now(),
    readyAt: 0,
    wasm: { compileMs: 0, memory: null },
    longTasks: [],
    interactions: {},
    ready: function () {
      if (!b.readyAt) b.readyAt = performance.now();
    },
  });
  // microfunnel has no ready callback: its loader lists the storage's keys (for the bodies an
  // earlier page left pending) right after the module's start() has returned, which is the
  // moment it is ready; nothing of it reads `localStorage.length` before.
  var length = Object.getOwnPropertyDescriptor(Storage.prototype, 'length');
  Object.defineProperty(Storage.prototype, 'length', {
    configurable: true,
    get: function () {
      if (window.microfunnel) b.ready();
      return length.get.call(this);
    },
  });
  function timed(original) {
    return function () {
      var started = performance.now();
      return original.apply(WebAssembly, arguments).then(function (result) {
        b.wasm.compileMs += performance.now() - started;
        var instance = result.instance || result;
        if (instance.exports && instance.exports.memory) b.wasm.memory = instance.exports.memory;
        return result;
      });
    };
  }
  WebAssembly.instantiateStreaming = timed(WebAssembly.instantiateStreaming);
  WebAssembly.instantiate = timed(WebAssembly.instantiate);
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (entry) {
        b.longTasks.push(entry.duration);
      });
    }).observe({ type: 'longtask', buffered: true });
    // Interaction to next paint: the longest event of each interaction.
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (entry) {
        if (!entry.interactionId) return;
        var seen = b.interactions[entry.interactionId] || 0;
        b.interactions[entry.interactionId] = Math.max(seen, entry.duration);
      });
    }).observe({ type: 'event', durationThreshold: 16, buffered: true });
  } catch (e) {}
  // Clicks made while the tracker starts: ten buttons clicked at fixed times after the tag.
  if (location.search.indexOf('early=1') >= 0) {
    [0, 5, 10, 20, 40, 80, 120, 160, 250, 400].forEach(function (ms, i) {
      setTimeout(function () {
        var button = document.createElement('button');
        button.type = 'button';
        button.id = 'early-' + i;
        button.className = 'btn-primary';
        button.setAttribute('data-cta', '');
        button.textContent = 'Early ' + i;
        (document.body || document.documentElement).appendChild(button);
        button.click();
      }, ms);
    });
  }
})();
