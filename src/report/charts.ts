import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ChartData } from './chartdata.js';

/**
 * Charts are rendered to SVG here, at report time, by vega itself (vega-lite compiled to
 * vega, a headless View, toSVG): the report embeds the SVG inline, so it needs no script,
 * no runtime and no network to show, and shows the same in any browser. Vega escapes the
 * text it draws, so names from scenarios cannot inject markup.
 */
async function render(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT = { config: { font: 'system-ui, sans-serif', view: { stroke: '#ddd' } } } as const;

/** Actors as lanes, each write and refusal as a mark at its simulated time. */
export function swimlane(data: ChartData): Promise<string> {
  const actors = [...new Set(data.lanes.map((l) => l.actor))];
  return render({
    ...FONT,
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 760,
    height: Math.max(60, actors.length * 24),
    data: { values: data.lanes.map((l) => ({ ...l })) },
    mark: { type: 'point', filled: true, size: 60, opacity: 0.8 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'simulated time (s)' },
      y: { field: 'actor', type: 'nominal', title: null, sort: actors },
      color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['write', 'refused'], range: ['#1f77b4', '#d62728'] } },
      shape: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['write', 'refused'], range: ['circle', 'cross'] } },
      tooltip: [{ field: 't' }, { field: 'actor' }, { field: 'text' }],
    },
  });
}

/** spec.hard, status.hard, used and what the user asked for, as steps over time. */
export function quotaOverTime(data: ChartData): Promise<string> | undefined {
  const q = data.quota;
  if (!q) return undefined;
  return render({
    ...FONT,
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 760,
    height: 240,
    data: { values: q.points.map((p) => ({ ...p })) },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'simulated time (s)' },
      y: { field: 'value', type: 'quantitative', title: `${q.namespace} ${q.resource} (${q.unit})`, scale: { zero: false } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: ['spec.hard', 'status.hard', 'used', 'user asked'], range: ['#1f77b4', '#9467bd', '#ff7f0e', '#2ca02c'] },
      },
      strokeDash: { field: 'series', type: 'nominal', scale: { domain: ['spec.hard', 'status.hard', 'used', 'user asked'], range: [[1, 0], [4, 3], [1, 0], [8, 4]] } },
    },
  });
}
