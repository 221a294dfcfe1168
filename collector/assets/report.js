// The report dashboard: reads the filters, fetches every report from /api/reports/<name>,
// draws the charts with Chart.js and fills the tables. When Chart.js is missing the tables
// still render and the status line says why.
'use strict';

const COLOURS = ['#3565d8', '#e07b28', '#2a9d6f', '#b43f8f', '#7a5bd6', '#c9a227'];
const charts = {};

const form = document.getElementById('filters');
const status = document.getElementById('status');

form.addEventListener('submit', (event) => {
  event.preventDefault();
  refresh();
});
refresh();

/** The query string of the current filters, without the empty ones. */
function query(extra = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form)) {
    if (value !== '' && key !== 'by' && key !== 'macro') params.set(key, value);
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value !== '') params.set(key, value);
  }
  return params.toString();
}

async function fetchReport(name, extra) {
  const response = await fetch(`/api/reports/${name}?${query(extra)}`);
  const body = await response.json();
  if (!response.ok) throw new Error(`${name}: ${body.error}`);
  return body;
}

async function refresh() {
  document.body.dataset.ready = 'false';
  status.className = '';
  status.textContent = 'loading...';
  const macro = form.elements.macro.value;
  const by = form.elements.by.value;
  const jobs = [
    ['funnel', { by }, drawFunnel],
    ['funnel', {}, drawTrend, 'trend'],
    ['impact', { macro }, drawImpact],
    ['segments', { macro }, drawSegments],
    ['experiments', { macro }, drawExperiments],
    ['dropoff', {}, drawDropoff],
    ['anomalies', {}, drawAnomalies],
  ];
  const problems = [];
  await Promise.all(
    jobs.map(async ([name, extra, draw, section = name]) => {
      exportLinks(section, name, extra);
      try {
        draw(await fetchReport(name, extra));
      } catch (error) {
        problems.push(error.message);
      }
    }),
  );
  if (typeof Chart === 'undefined') problems.push('charts unavailable: Chart.js did not load');
  status.className = problems.length ? 'error' : '';
  const updated = `updated ${new Date().toLocaleTimeString()}`;
  status.textContent = problems.length ? problems.join('; ') : updated;
  document.body.dataset.ready = 'true';
}

function exportLinks(section, name, extra) {
  const span = document.querySelector(`#${section} .exports`);
  const table = section === 'trend' ? { table: 'trend' } : {};
  span.replaceChildren(
    link('CSV', `/api/reports/${name}.csv?${query({ ...extra, ...table })}`),
    link('JSON', `/api/reports/${name}?${query(extra)}`),
  );
}

function link(text, href) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  return a;
}

/** Replaces a chart, or does nothing when Chart.js is missing. */
function chart(id, config) {
  charts[id]?.destroy();
  if (typeof Chart === 'undefined') return;
  config.options = {
    animation: false,
    maintainAspectRatio: false,
    responsive: true,
    ...config.options,
  };
  charts[id] = new Chart(document.getElementById(id), config);
}

/** Fills a table from a header and rows; a cell may be `{text, className}`. */
function table(id, header, rows) {
  const element = document.getElementById(id);
  const head = document.createElement('tr');
  for (const name of header) {
    const th = document.createElement('th');
    th.textContent = name;
    head.append(th);
  }
  const lines = rows.map((row) => {
    const tr = document.createElement('tr');
    for (const value of row) {
      const td = document.createElement('td');
      const cell = typeof value === 'object' && value !== null ? value : { text: value };
      td.textContent = cell.text ?? '';
      const numeric = typeof cell.text === 'number' || /^[-\d.%×s ]+$/.test(String(cell.text));
      if (numeric) td.className = 'n';
      if (cell.className) td.className += ` ${cell.className}`;
      tr.append(td);
    }
    return tr;
  });
  element.replaceChildren(head, ...lines);
}

const percent = (x) => `${(100 * x).toFixed(1)}%`;
const seconds = (ms) => (ms == null ? '' : `${(ms / 1000).toFixed(1)} s`);
const times = (x) => (x == null ? '' : `${x.toFixed(2)}×`);
const range = (ci, format) => (ci ? `${format(ci.low)} – ${format(ci.high)}` : '');

function drawFunnel(reports) {
  const funnel = reports[0];
  if (!funnel) {
    document.getElementById('funnel-note').textContent = 'no funnel in the config';
    return;
  }
  document.getElementById('funnel-note').textContent =
    `${funnel.name}: ${funnel.entered} attempts, ${percent(funnel.completion_rate)} completed ` +
    `(95 % CI ${range(funnel.completion_ci, percent)}), median time to complete ` +
    `${seconds(funnel.median_time_to_complete_ms)}.`;
  const labels = funnel.steps.map((step) => step.name);
  const groups = funnel.breakdown?.groups ?? [];
  const datasets = groups.length
    ? groups.map((group, i) => ({
        label: `${funnel.breakdown.dimension}=${group.value}`,
        data: group.steps.map((step) => step.reached),
        backgroundColor: COLOURS[i % COLOURS.length],
      }))
    : [{ label: 'reached', data: funnel.steps.map((s) => s.reached), backgroundColor: COLOURS[0] }];
  chart('funnel-chart', { type: 'bar', data: { labels, datasets } });
  table(
    'funnel-table',
    ['step', 'reached', 'of entered', 'abandoned here', 'median since prior'],
    funnel.steps.map((step) => [
      `${step.step}. ${step.name}`,
      step.reached,
      percent(step.share_of_entered),
      step.step < funnel.steps.length ? percent(step.abandonment_rate) : '',
      seconds(step.median_since_prior_ms),
    ]),
  );
}

function drawTrend(reports) {
  const funnel = reports[0];
  if (!funnel) return;
  const labels = funnel.trend.map((day) => day.date);
  chart('trend-chart', {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'entered', data: funnel.trend.map((d) => d.entered), borderColor: COLOURS[0] },
        { label: 'completed', data: funnel.trend.map((d) => d.completed), borderColor: COLOURS[1] },
      ],
    },
  });
}

function drawImpact(report) {
  document.getElementById('impact-note').textContent =
    `${report.converted} of ${report.units} ${report.unit}s had ${report.macro}. ` +
    `Method: ${report.method}.`;
  const items = report.items.filter((item) => item.lift != null);
  chart('impact-chart', {
    type: 'bar',
    data: {
      labels: items.map((item) => item.event),
      datasets: [
        {
          label: `lift on ${report.macro}`,
          data: items.map((i) => i.lift),
          backgroundColor: COLOURS[2],
        },
      ],
    },
    options: { indexAxis: 'y', scales: { x: { type: 'logarithmic' } } },
  });
  table(
    'impact-table',
    ['micro-conversion', 'did', 'rate', 'did not', 'rate', 'lift', '95 % CI'],
    items.map((item) => [
      item.event,
      item.did,
      percent(item.did_rate),
      item.did_not,
      percent(item.did_not_rate),
      { text: times(item.lift), className: item.significant ? 'good' : '' },
      range(item.lift_ci, times),
    ]),
  );
}

function drawSegments(report) {
  const rows = [];
  for (const dimension of report.dimensions) {
    for (const value of dimension.values) rows.push([dimension.dimension, value]);
  }
  const device = report.dimensions.find((d) => d.dimension === 'device')?.values ?? [];
  chart('segments-chart', {
    type: 'bar',
    data: {
      labels: device.map((v) => v.value),
      datasets: [
        { label: 'engaged', data: device.map((v) => v.engaged_rate), backgroundColor: COLOURS[4] },
        {
          label: `${report.macro} rate`,
          data: device.map((v) => v.conversion_rate),
          backgroundColor: COLOURS[1],
        },
      ],
    },
  });
  table(
    'segments-table',
    ['dimension', 'value', report.unit + 's', 'engaged', 'converted', '95 % CI'],
    rows.map(([dimension, value]) => [
      dimension,
      value.value,
      value.units,
      percent(value.engaged_rate),
      percent(value.conversion_rate),
      range(value.conversion_ci, percent),
    ]),
  );
}

function drawExperiments(report) {
  document.getElementById('experiments-note').textContent =
    `Variants by segment.${report.dimension}, control ${report.control ?? '(none)'}. ` +
    `Method: ${report.method}.`;
  const variants = report.variants;
  chart('experiments-chart', {
    type: 'bar',
    data: {
      labels: variants.map((v) => v.variant),
      datasets: [
        {
          label: `${report.macro} rate`,
          data: variants.map((v) => v.conversion_rate),
          backgroundColor: COLOURS[0],
        },
      ],
    },
  });
  table(
    'experiments-table',
    ['variant', report.unit + 's', 'rate', 'lift', '95 % CI', 'p', 'needed per variant'],
    variants.map((v) => {
      const c = v.versus_control;
      return [
        v.variant,
        v.units,
        percent(v.conversion_rate),
        { text: c ? times(c.lift) : 'control', className: c?.significant ? 'good' : '' },
        c ? range(c.lift_ci, times) : '',
        c?.test ? c.test.p_value.toPrecision(2) : '',
        c?.needed_per_variant ?? '',
      ];
    }),
  );
}

function drawDropoff(reports) {
  const rows = [];
  for (const report of reports) {
    for (const step of report.steps) {
      const next = step.next.map((n) => `${n.action} (${percent(n.share)})`).join(', ');
      const label = `${report.funnel}: ${step.step}. ${step.name}`;
      rows.push([label, step.ended, percent(step.ended_rate), next]);
    }
  }
  table('dropoff-table', ['ended at', 'attempts', 'of reached', 'next action'], rows);
}

function drawAnomalies(report) {
  document.getElementById('anomalies-note').textContent = `Method: ${report.method}.`;
  const first = report.flags[0];
  const series = report.series.find((s) => s.event === first?.event) ?? report.series[0];
  if (series) {
    chart('anomalies-chart', {
      type: 'line',
      data: {
        labels: series.days.map((d) => d.date),
        datasets: [
          {
            label: `${series.event} per day`,
            data: series.days.map((d) => d.count),
            borderColor: COLOURS[0],
            pointBackgroundColor: series.days.map((d) => (d.flagged ? '#b42318' : COLOURS[0])),
            pointRadius: series.days.map((d) => (d.flagged ? 6 : 2)),
          },
          {
            label: 'baseline (median)',
            data: series.days.map((d) => d.baseline),
            borderColor: '#8a93a6',
            borderDash: [4, 4],
            pointRadius: 0,
          },
        ],
      },
    });
  }
  table(
    'anomalies-table',
    ['event', 'date', 'count', 'baseline', 'z'],
    report.flags.map((d) => [
      { text: d.event, className: 'flag' },
      d.date,
      d.count,
      d.baseline,
      d.z.toFixed(1),
    ]),
  );
}
