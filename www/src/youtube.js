// The YouTube add-on: video triggers for YouTube embeds, through the IFrame player's message
// protocol (the one the IFrame API speaks under the hood), without loading that API.
//
// The loader imports this file only on a page that has a video trigger and an embed with
// `enablejsapi=1` in its URL (a player without it does not talk), so pages without YouTube
// pay nothing for it. It says `listening` to each such player until the player answers, then
// turns what the player reports into the same calls the loader makes for a `<video>`: `play`
// when it starts playing, `timeupdate` as its time moves, `ended`; the engine does the rest
// (thresholds once per playback, a replay after the end is a new one). It never changes the
// page: no attribute is added, no player is reloaded, nothing is sent to a player but
// `listening`, and a message is read only when it comes from a player this add-on spoke to.
export default function (handle) {
  var w = window;
  var players = [];
  var PLAYERS = 'iframe[src*="enablejsapi=1"]';

  function hello(player) {
    try {
      player.frame.contentWindow.postMessage(
        JSON.stringify({ event: 'listening', id: player.id, channel: 'widget' }),
        new URL(player.frame.src, location.href).origin,
      );
    } catch (e) {}
  }

  function scan() {
    document.querySelectorAll(PLAYERS).forEach(function (frame) {
      if (players.some(function (p) { return p.frame === frame; })) return;
      var player = { frame: frame, id: players.length + 1, heard: false, state: -1, playing: false, time: 0, duration: 0 };
      players.push(player);
      // A player that has not loaded yet cannot hear: say it again when it has, and a few
      // times more for one that loads its script late; a player that never answers costs
      // nothing more after that.
      frame.addEventListener('load', function () {
        hello(player);
      });
      var tries = 0;
      var again = setInterval(function () {
        if (player.heard || ++tries > 20) clearInterval(again);
        else hello(player);
      }, 500);
      hello(player);
    });
  }

  function report(player, kind) {
    var frame = player.frame;
    // `[element, current_time, duration, source, provider, title]`, as for a `<video>`.
    handle(kind, [frame, player.time, player.duration, player.url || frame.src, 'youtube', player.title || frame.title]);
  }

  w.addEventListener('message', function (event) {
    var player = players.filter(function (p) {
      return p.frame.contentWindow === event.source;
    })[0];
    if (!player) return;
    var data;
    try {
      data = typeof event.data === 'string' ? JSON.parse(event.data) : event.data;
    } catch (e) {
      return;
    }
    if (!data || typeof data !== 'object' || data.info == null) return;
    player.heard = true;
    var info = data.info;
    var state = player.state;
    if (data.event === 'onStateChange') state = info;
    else if (typeof info === 'object') {
      if (typeof info.currentTime === 'number') player.time = info.currentTime;
      if (typeof info.duration === 'number') player.duration = info.duration;
      if (info.videoData && typeof info.videoData.title === 'string') player.title = info.videoData.title;
      if (typeof info.videoUrl === 'string') player.url = info.videoUrl;
      if (typeof info.playerState === 'number') state = info.playerState;
    } else return;
    // States: -1 unstarted, 0 ended, 1 playing, 2 paused, 3 buffering, 5 cued. Buffering
    // (after a seek, or before the first frame) does not end a stretch of playing; a move
    // into playing from anything else is a `play`, which the engine counts as a start only
    // at the beginning of a playback.
    var was = player.state;
    player.state = state;
    if (state === 1 && !player.playing) {
      player.playing = true;
      report(player, 'play');
    } else if (state === 1 && typeof info === 'object' && 'currentTime' in info) {
      report(player, 'timeupdate');
    }
    if (state !== 1 && state !== 3) player.playing = false;
    if (state === 0 && was !== 0) report(player, 'ended');
    if (state === 2 && was !== 2) report(player, 'pause');
  });

  scan();
  // Players added later (a gallery, a route change): looked for at most every 500 ms.
  var pending = 0;
  new MutationObserver(function () {
    pending =
      pending ||
      setTimeout(function () {
        pending = 0;
        scan();
      }, 500);
  }).observe(document.documentElement, { childList: true, subtree: true });
}
