// Snowplow's browser tracker with the plugins that come closest to microfunnel's capture:
// links, buttons, forms, element visibility, media (with a small adapter, since the media
// plugin has no automatic HTML5 capture), activity (page pings with scroll offsets).
import { newTracker, trackPageView, enableActivityTracking } from '@snowplow/browser-tracker';
import {
  LinkClickTrackingPlugin,
  enableLinkClickTracking,
} from '@snowplow/browser-plugin-link-click-tracking';
import {
  ButtonClickTrackingPlugin,
  enableButtonClickTracking,
} from '@snowplow/browser-plugin-button-click-tracking';
import { FormTrackingPlugin, enableFormTracking } from '@snowplow/browser-plugin-form-tracking';
import {
  SnowplowElementTrackingPlugin,
  startElementTracking,
} from '@snowplow/browser-plugin-element-tracking';
import {
  SnowplowMediaPlugin,
  startMediaTracking,
  trackMediaPlay,
  trackMediaPause,
  trackMediaEnd,
  updateMediaTracking,
} from '@snowplow/browser-plugin-media';

newTracker('sp', location.origin, {
  appId: 'demo-shop',
  eventMethod: 'post',
  bufferSize: 1,
  encodeBase64: false,
  plugins: [
    LinkClickTrackingPlugin(),
    ButtonClickTrackingPlugin(),
    FormTrackingPlugin(),
    SnowplowElementTrackingPlugin(),
    SnowplowMediaPlugin(),
  ],
});
enableActivityTracking({ minimumVisitLength: 10, heartbeatDelay: 10 });
trackPageView();
enableLinkClickTracking({ pseudoClicks: true, trackContent: true });
enableButtonClickTracking();
enableFormTracking();
startElementTracking({ elements: [{ selector: 'video, form, [data-cta]', expose: true }] });

// The media plugin is an API, not a listener: this adapter is what a site writes for <video>.
var ids = new WeakMap();
var count = 0;
function media(event) {
  var video = event.target;
  if (!(video instanceof HTMLMediaElement)) return;
  var id = ids.get(video);
  if (!id) {
    id = 'video-' + ++count;
    ids.set(video, id);
    startMediaTracking({ id: id, boundaries: [10, 25, 50, 75], player: { mediaType: 'video' } });
  }
  var player = { currentTime: video.currentTime, duration: video.duration || 0 };
  if (event.type === 'play') trackMediaPlay({ id: id, player: player });
  else if (event.type === 'pause') trackMediaPause({ id: id, player: player });
  else if (event.type === 'ended') trackMediaEnd({ id: id, player: player });
  else updateMediaTracking({ id: id, player: player });
}
['play', 'pause', 'ended', 'timeupdate'].forEach(function (type) {
  document.addEventListener(type, media, true);
});

if (window.__bench) window.__bench.ready();
