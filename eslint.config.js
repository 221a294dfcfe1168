// Lint for the loader (www/src/loader.js), the one hand-written script every visitor of every
// site runs. It catches what JavaScript allows silently and what has broken the tracker: a
// name declared twice in one scope, an assignment to a function (a lock's resolver once
// replaced the retry function of the same name, and no request went again after a collector
// outage), a shadowed name, a global that does not exist. Run by `cargo xtask test` (lint).
const browser = [
  'window', 'document', 'location', 'history', 'navigator', 'console', 'localStorage',
  'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'fetch', 'IntersectionObserver',
  'MutationObserver', 'Event', 'History',
];

export default [
  {
    files: ['www/src/loader.js'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'script',
      globals: Object.fromEntries(browser.map((name) => [name, 'readonly'])),
    },
    rules: {
      'no-redeclare': 'error',
      'no-func-assign': 'error',
      'no-shadow': ['error', { hoist: 'all' }],
      'no-undef': 'error',
      'no-unused-vars': ['error', { caughtErrors: 'none' }],
      'no-use-before-define': ['error', { functions: false, variables: false }],
      eqeqeq: ['error', 'smart'],
    },
  },
];
