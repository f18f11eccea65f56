import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { RaceMarker, QuotaSeries } from './race.js';

/**
 * Charts are rendered to SVG here, at report time, by vega itself (vega-lite compiled to
 * vega, a headless View, toSVG): the report embeds the SVG inline, so it needs no script,
 * no runtime and no network to show, and shows the same in any browser. Vega escapes the
 * text it draws, so names from scenarios cannot inject markup.
 */
async function render(spec: TopLevelSpec): Promise<string> {
  const quiet = { level: () => quiet, error: () => quiet, warn: () => quiet, info: () => quiet, debug: () => quiet };
  const view = new vega.View(vega.parse(compile(spec, { logger: quiet as never }).spec), { renderer: 'none', logLevel: vega.None });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const BASE = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  config: { font: 'system-ui, sans-serif', view: { stroke: '#ddd' }, axis: { labelLimit: 400, titleLimit: 600 }, legend: { labelLimit: 400 } },
} as const;

export const STATUS_COLOURS = { 'meets its expectation': '#2e7d32', 'breaks its expectation': '#c62828', 'no expectation': '#757575' } as const;
export type ExpectationStatus = keyof typeof STATUS_COLOURS;

export interface HeadlineBar {
  readonly strategy: string;
  readonly metric: 'quota correct' | 'VMs moved';
  readonly value: number;
  readonly status: ExpectationStatus;
  readonly bound?: number;
}

/** The headline's compact chart: per strategy, quota correct and VMs moved, coloured against the scenario's expectations. */
export function headlineChart(bars: readonly HeadlineBar[], strategies: readonly string[]): Promise<string> {
  const values = bars.map((b) => ({ ...b }));
  return render({
    ...BASE,
    width: 260,
    height: { step: 16 },
    data: { values },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.9 } },
        encoding: {
          y: { field: 'strategy', type: 'nominal', sort: [...strategies], title: null, axis: { labelFontSize: 12 } },
          yOffset: { field: 'metric', type: 'nominal', sort: ['quota correct', 'VMs moved'] },
          x: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%', title: null, tickCount: 5 } },
          color: { field: 'status', type: 'nominal', title: null, scale: { domain: Object.keys(STATUS_COLOURS), range: Object.values(STATUS_COLOURS) }, legend: null },
          opacity: { field: 'metric', type: 'nominal', sort: ['quota correct', 'VMs moved'], scale: { domain: ['quota correct', 'VMs moved'], range: [1, 0.45] }, legend: null },
        },
      },
      {
        transform: [{ filter: 'isValid(datum.bound)' }],
        mark: { type: 'tick', color: '#111', thickness: 2, size: 10 },
        encoding: {
          y: { field: 'strategy', type: 'nominal', sort: [...strategies] },
          yOffset: { field: 'metric', type: 'nominal', sort: ['quota correct', 'VMs moved'] },
          x: { field: 'bound', type: 'quantitative' },
        },
      },
    ],
  } as TopLevelSpec);
}

const MARKER_COLOURS: Record<RaceMarker['kind'], string> = {
  'agent restart': '#6a1b9a',
  'Rancher reset': '#c62828',
  'migration start': '#90a4ae',
  'migration end': '#37474f',
  'user edit': '#ef6c00',
};

/**
 * One namespace's quota key over time: spec.hard (thick, pale), status.hard (thin, dashed,
 * dark: what admission checks), used, what the user asked for; events as vertical rules.
 */
export function quotaChart(q: QuotaSeries, markers: readonly RaceMarker[]): Promise<string> {
  const kinds = [...new Set(markers.map((m) => m.kind))];
  return render({
    ...BASE,
    width: 1100,
    height: 230,
    layer: [
      {
        data: { values: markers.map((m) => ({ t: m.t / 1000, event: m.kind, label: m.label })) },
        mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.8 },
        encoding: {
          x: { field: 't', type: 'quantitative' },
          color: { field: 'event', type: 'nominal', title: 'events', scale: { domain: kinds.length ? kinds : ['agent restart'], range: (kinds.length ? kinds : ['agent restart']).map((k) => MARKER_COLOURS[k as RaceMarker['kind']]) }, legend: { orient: 'right' } },
          strokeDash: { value: [2, 2] },
        },
      },
      {
        data: { values: q.points.map((p) => ({ ...p })) },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 't', type: 'quantitative', title: 'simulated time (s)' },
          y: { field: 'value', type: 'quantitative', title: `${q.resource} (${q.unit === 'm' ? 'millicores' : q.unit}), namespace “${q.namespace}”`, scale: { zero: false } },
          stroke: {
            field: 'series',
            type: 'nominal',
            title: 'quota',
            scale: { domain: ['spec.hard', 'status.hard', 'used', 'user asked'], range: ['#64b5f6', '#0d47a1', '#ff8f00', '#2e7d32'] },
            legend: { orient: 'right' },
          },
          strokeWidth: { field: 'series', type: 'nominal', sort: ['spec.hard', 'status.hard', 'used', 'user asked'], scale: { domain: ['spec.hard', 'status.hard', 'used', 'user asked'], range: [6, 1.8, 2, 2] }, legend: null },
          strokeDash: { field: 'series', type: 'nominal', scale: { domain: ['spec.hard', 'status.hard', 'used', 'user asked'], range: [[1, 0], [5, 3], [1, 0], [10, 4]] }, legend: null },
        },
      },
    ],
    resolve: { scale: { color: 'independent', stroke: 'independent' } },
  } as TopLevelSpec);
}
