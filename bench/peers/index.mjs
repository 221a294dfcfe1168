// The peers: each an entry file bundled by esbuild, and what it can and cannot capture as
// configured there, for the report.
export const PEERS = [
  {
    name: 'snowplow',
    entry: 'snowplow.js',
    label: 'Snowplow browser tracker 4.6.8 + link, button, form, element, media plugins',
    captures: 'page views; link clicks; button clicks; form submits and field changes; element visibility; media play/pause/end/progress (through a 25-line adapter the site writes, since the media plugin has no automatic HTML5 listener); activity pings with scroll offsets',
    cannot: 'scroll-depth thresholds as events (only min/max offsets in page pings); clicks on elements that are not links or buttons; funnels (computed in its warehouse, not in the page); data-layer events without code',
  },
  {
    name: 'snowplow-core',
    entry: 'snowplow-core.js',
    sizeOnly: true,
    label: 'Snowplow browser tracker 4.6.8 alone (page views, activity)',
  },
  {
    name: 'posthog',
    entry: 'posthog.js',
    label: 'posthog-js 1.449.2 (npm module build)',
    captures: 'autocapture of clicks on links, buttons and inputs, form submits and changes; page views and page leave (with scroll depth); rage clicks; history page views',
    cannot: 'media events; scroll thresholds as they happen; element visibility; funnels in the page (computed on its servers); remote features (flags, surveys, recordings, heatmaps) are off here, since they need PostHog’s servers',
  },
  {
    name: 'segment',
    entry: 'segment.js',
    label: '@segment/analytics-next 1.84.3',
    captures: 'page views; link clicks and form submits bound with trackLink/trackSubmit at load',
    cannot: 'button or other clicks, scroll, media, visibility without hand-written calls; elements added after load; funnels',
  },
  {
    name: 'plausible',
    entry: 'plausible.js',
    label: '@plausible-analytics/tracker 0.4.6',
    captures: 'page views (and history changes); outbound link clicks; file downloads; form submits',
    cannot: 'button or CTA clicks, scroll, media, visibility; custom events only by hand; funnels (on its servers)',
  },
];

/** Not measured, and why. */
export const NOT_MEASURED = [
  {
    name: 'gtag.js (Google tag)',
    why: 'not published on npm: it is served only from Google’s servers, which this machine cannot reach, and no stand-in would be honest',
  },
  {
    name: 'RudderStack (@rudderstack/analytics-js)',
    why: 'named in the goals but not in the issue’s list of peers; left for a later run',
  },
];
