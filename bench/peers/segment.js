// Segment's analytics-next from npm. It has no automatic capture beyond page views: links and
// forms are bound with trackLink and trackSubmit (what Segment documents for them); the CDN
// settings are given inline and point at the benchmark's local endpoint.
import { AnalyticsBrowser } from '@segment/analytics-next';

var analytics = AnalyticsBrowser.load(
  {
    writeKey: 'bench',
    cdnSettings: {
      integrations: {
        'Segment.io': { apiKey: 'bench', apiHost: location.host + '/v1', protocol: 'http' },
      },
      plan: {},
      metrics: { sampleRate: 0 },
    },
  },
  { integrations: { 'Segment.io': { apiHost: location.host + '/v1', protocol: 'http' } } },
);
analytics.page();
analytics.ready(function () {
  // `AnalyticsBrowser` binds forms with `trackSubmit` (it has no `trackForm`), and both
  // binders take arrays of elements, not NodeLists.
  analytics.trackLink(Array.from(document.querySelectorAll('a')), 'Link Clicked');
  analytics.trackSubmit(Array.from(document.querySelectorAll('form')), 'Form Submitted');
  if (window.__bench) window.__bench.ready();
});
window.analytics = analytics;
