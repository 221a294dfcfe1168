// The GA4 preset add-on: `"preset": "ga4"` in a config turns on the triggers of GA4's enhanced
// measurement, with GA4's event and parameter names, so that the events can be forwarded to GA4
// unchanged.
//
// The loader imports this file only for a config that names a preset, before the module reads
// the config: it returns the config's text with the preset's triggers (ids `ga4_*`) after the
// site's own, a site trigger with the same id replacing the preset's, and `preset` removed.
// It also checks the site's own triggers against GA4's limits for event and parameter names and
// values, and says in the console, with the JSON path, what GA4 would refuse or cut.

// GA4's list of file extensions for `file_download`.
var EXTENSIONS =
  'pdf xls xlsx doc docx txt rtf csv exe key pps ppt pptx 7z pkg rar gz zip avi mov mp4 mpe mpeg mpg wmv mid midi mp3 wav wma';

// The query parameters GA4 reads a site search term from, first found first.
var SEARCH = ['q', 's', 'search', 'query', 'keyword'];

// Event names GA4 keeps for itself (a site cannot send them as its own events).
var RESERVED =
  /^(app_|ad_|notification_|firebase_|ga_|google_|(error|first_open|first_visit|in_app_purchase|os_update|session_start|user_engagement)$)/;

// Parameter names GA4 does not take.
var RESERVED_PARAM = /^(_|firebase_|ga_|google_|gtag\.)/;

function presetTriggers() {
  var triggers = [
    { id: 'ga4_page_view', on: 'page_view' },
    { id: 'ga4_scroll', on: 'scroll', percent: [90], event: 'scroll' },
    {
      id: 'ga4_outbound_click',
      on: 'click',
      selector: 'a[href]',
      event: 'click',
      when: [{ var: 'click.outbound', op: 'equals', value: true }],
      params: {
        outbound: true,
        link_id: '{{click.id}}',
        link_classes: '{{click.classes}}',
        link_url: '{{click.url}}',
      },
    },
    {
      id: 'ga4_video',
      on: 'video',
      selector: 'video, audio, iframe[src*="youtube"]',
      progress_percent: [10, 25, 50, 75],
    },
    { id: 'ga4_file_download', on: 'download', extensions: EXTENSIONS.split(' ') },
    { id: 'ga4_form_start', on: 'form_start' },
    { id: 'ga4_form_submit', on: 'form_submit' },
  ];
  // Site search: a page view whose URL has one of the search parameters, the first one found.
  SEARCH.forEach(function (name, i) {
    triggers.push({
      id: 'ga4_search_' + name,
      on: 'page_view',
      event: 'view_search_results',
      when: [{ var: 'ga4_search_' + name, op: 'not_equals', value: '' }],
      unless: SEARCH.slice(0, i).map(function (before) {
        return { var: 'ga4_search_' + before, op: 'not_equals', value: '' };
      }),
      params: { search_term: '{{ga4_search_' + name + '}}' },
    });
  });
  return triggers;
}

// What GA4 would refuse or cut in the site's own triggers, as `[path, problem]` pairs.
export function limits(config) {
  var found = [];
  (Array.isArray(config.triggers) ? config.triggers : []).forEach(function (trigger, i) {
    if (!trigger || typeof trigger !== 'object') return;
    var at = 'triggers[' + i + ']';
    var name = trigger.event;
    if (typeof name === 'string' && RESERVED.test(name)) {
      found.push([at + '.event', '`' + name + '` is a name GA4 keeps for itself']);
    }
    var params = trigger.params && typeof trigger.params === 'object' ? Object.keys(trigger.params) : [];
    if (params.length > 25) found.push([at + '.params', params.length + ' params: GA4 takes 25 an event']);
    params.forEach(function (key) {
      var value = trigger.params[key];
      if (key.length > 40) found.push([at + '.params.' + key, 'a parameter name GA4 cuts at 40 characters']);
      if (RESERVED_PARAM.test(key)) found.push([at + '.params.' + key, 'a parameter name GA4 refuses']);
      if (typeof value === 'string' && value.indexOf('{{') < 0 && value.length > 100) {
        found.push([at + '.params.' + key, 'a value GA4 cuts at 100 characters']);
      }
    });
  });
  return found;
}

// The event a trigger makes, for telling whether a site trigger does what a preset one does.
var NAMES = { scroll: 'scroll_depth', download: 'file_download' };
function made(trigger) {
  return trigger.on + ' ' + (trigger.event || NAMES[trigger.on] || trigger.on);
}

// The config with the preset in it. A config that is not JSON, or whose `triggers` or
// `variables` are of the wrong type, is passed on as it is (without `preset`): the module's
// check then names the fault by its path, as for any config.
export default function (text) {
  var config;
  try {
    config = JSON.parse(text);
    if (!config || typeof config !== 'object') throw 0;
  } catch (e) {
    return text;
  }
  var preset = config.preset;
  // `"preset"` written somewhere else (a param's name): nothing to do.
  if (preset === undefined) return text;
  delete config.preset;
  if (preset !== 'ga4') {
    console.error('microfunnel: config error at preset: unknown preset ' + JSON.stringify(preset) + '; known: ga4');
    return JSON.stringify(config);
  }
  var own = config.triggers || [];
  var variables = config.variables || {};
  if (!Array.isArray(own) || typeof variables !== 'object' || Array.isArray(variables)) return JSON.stringify(config);
  limits(config).forEach(function (problem) {
    console.warn('microfunnel: GA4 limit at ' + problem[0] + ': ' + problem[1]);
  });
  // A site trigger with a preset trigger's id replaces it, and so does one of its type with its
  // event name that fires everywhere (no selector, `when` or `unless`): a site's own page view
  // trigger is not doubled. The preset's come after the site's own, so that the module's
  // errors name the site's triggers by the index they have in the file.
  var taken = {};
  own.forEach(function (trigger) {
    if (!trigger || typeof trigger !== 'object') return;
    taken[trigger.id] = 1;
    if (!trigger.selector && !trigger.when && !trigger.unless) taken[made(trigger)] = 1;
  });
  config.triggers = own.concat(
    presetTriggers().filter(function (trigger) {
      return !taken[trigger.id] && !taken[made(trigger)];
    }),
  );
  // A search parameter whose value the site redacts is not read (its triggers never fire).
  var redacted = (config.privacy && config.privacy.redact_query_params) || [];
  redacted = (Array.isArray(redacted) ? redacted : []).map(function (name) {
    return String(name).toLowerCase();
  });
  SEARCH.forEach(function (name) {
    var key = 'ga4_search_' + name;
    if (!(key in variables)) variables[key] = redacted.indexOf(name) < 0 ? { url_query: name, default: '' } : { constant: '' };
  });
  config.variables = variables;
  return JSON.stringify(config);
}
