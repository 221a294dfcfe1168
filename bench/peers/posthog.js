// posthog-js from npm with autocapture (clicks, changes, submits), history page views, page
// leave with scroll depth and rage clicks; everything it would fetch from PostHog's servers
// (flags, surveys, recordings, heatmaps) is off, since the benchmark has no network.
import posthog from 'posthog-js';

posthog.init('phc_bench', {
  api_host: location.origin + '/ph',
  autocapture: true,
  capture_pageview: 'history_change',
  capture_pageleave: true,
  rageclick: true,
  advanced_disable_flags: true,
  advanced_disable_decide: true,
  disable_session_recording: true,
  disable_surveys: true,
  disable_compression: true,
  capture_performance: false,
  capture_dead_clicks: false,
  capture_heatmaps: false,
  disable_external_dependency_loading: true,
  persistence: 'localStorage',
  loaded: function () {
    if (window.__bench) window.__bench.ready();
  },
});
