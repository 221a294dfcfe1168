// Plausible's npm tracker with everything it can capture switched on: page views (also on
// history changes), outbound links, file downloads and form submissions.
import { init } from '@plausible-analytics/tracker';

init({
  domain: 'demo-shop',
  endpoint: location.origin + '/api/event',
  outboundLinks: true,
  fileDownloads: { fileExtensions: ['pdf', 'zip', 'csv'] },
  formSubmissions: true,
  captureOnLocalhost: true,
});

if (window.__bench) window.__bench.ready();
