// Snowplow's browser tracker alone, for its size: page views and activity tracking.
import { newTracker, trackPageView, enableActivityTracking } from '@snowplow/browser-tracker';

newTracker('sp', location.origin, { appId: 'demo-shop', eventMethod: 'post' });
enableActivityTracking({ minimumVisitLength: 10, heartbeatDelay: 10 });
trackPageView();
