// Lint for the loader (www/src/loader.js), the one hand-written script every visitor of every
// site runs, and its add-ons (www/src/youtube.js and www/src/ga4.js, ES modules). It catches what JavaScript allows silently and what has broken the tracker: a
// name declared twice in one scope, an assignment to a function (a lock's resolver once
// replaced the retry function of the same name, and no request went again after a collector
// outage), a shadowed name, a global that does not exist. Run by `cargo xtask test` (lint).
const browser = [
  'window', 'document', 'location', 'history', 'navigator', 'console', 'localStorage',
  'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'fetch', 'IntersectionObserver',
  'MutationObserver', 'Event', 'History', 'URL', 'HTMLFormElement', 'HTMLMediaElement',
];

const rules = {
  'no-redeclare': 'error',
  'no-func-assign': 'error',
  'no-shadow': ['error', { hoist: 'all' }],
  'no-undef': 'error',
  'no-unused-vars': ['error', { caughtErrors: 'none' }],
  'no-use-before-define': ['error', { functions: false, variables: false }],
  eqeqeq: ['error', 'smart'],
};
const globals = Object.fromEntries(browser.map((name) => [name, 'readonly']));

export default [
  {
    files: ['www/src/loader.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'script', globals },
    rules,
  },
  {
    files: ['www/src/youtube.js', 'www/src/ga4.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals },
    rules,
  },
];
