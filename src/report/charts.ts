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

/** Whether the scenario's expectations for a strategy hold: a mark of its own, never the colour of safety. */
export const STATUS_COLOURS = { 'meets its expectation': '#2e7d32', 'breaks its expectation': '#c62828', 'no expectation': '#757575' } as const;
export type ExpectationStatus = keyof typeof STATUS_COLOURS;

/** Safety: every run right is green; any run that broke the quota or left a VM behind is red. */
export const SAFETY_COLOURS = { safe: '#2e7d32', unsafe: '#c62828' } as const;

export interface HeadlineBar {
  readonly strategy: string;
  readonly metric: 'quota correct' | 'VMs moved';
  readonly value: number;
  /** The value as printed on the bar. */
  readonly label: string;
  readonly bound?: number;
}

/**
 * The headline's compact chart: per strategy, quota correct and VMs moved, each bar labelled
 * with its value and coloured by safety (green at 100%, red below); an expectation's bound is
 * a black tick, so whether the result was expected is read apart from whether it was safe.
 */
export function headlineChart(bars: readonly HeadlineBar[], strategies: readonly string[]): Promise<string> {
  const values = bars.map((b) => ({ ...b, safety: b.value === 1 ? 'safe' : 'unsafe' }));
  return render({
    ...BASE,
    width: 230,
    height: { step: 16 },
    data: { values },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.9 } },
        encoding: {
          y: { field: 'strategy', type: 'nominal', sort: [...strategies], title: null, axis: { labelFontSize: 12 } },
          yOffset: { field: 'metric', type: 'nominal', sort: ['quota correct', 'VMs moved'] },
          x: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%', title: null, tickCount: 5 } },
          color: { field: 'safety', type: 'nominal', title: null, scale: { domain: Object.keys(SAFETY_COLOURS), range: Object.values(SAFETY_COLOURS) }, legend: null },
          opacity: { field: 'metric', type: 'nominal', sort: ['quota correct', 'VMs moved'], scale: { domain: ['quota correct', 'VMs moved'], range: [1, 0.45] }, legend: null },
        },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, fontSize: 10.5 },
        encoding: {
          y: { field: 'strategy', type: 'nominal', sort: [...strategies] },
          yOffset: { field: 'metric', type: 'nominal', sort: ['quota correct', 'VMs moved'] },
          x: { field: 'value', type: 'quantitative' },
          text: { field: 'label', type: 'nominal' },
          color: { value: '#222' },
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

/** Fixed colours for the writers every race has, so a rule keeps its colour from chart to chart. */
const WRITER_COLOURS: ReadonlyArray<[RegExp, string]> = [
  [/^rancher/, '#c62828'],
  [/^harvester\/vm-migration/, '#1565c0'],
  [/^harvester\/resource-?quota/i, '#6a1b9a'],
  [/^harvester/, '#00838f'],
  [/^user|^admin/, '#ad1457'],
  [/^kube-controller-manager/, '#2e7d32'],
];
const SPARE = ['#8d6e63', '#5d4037', '#ad1457', '#827717', '#37474f', '#0277bd'];

export function writerColour(actor: string): string {
  const hit = WRITER_COLOURS.find(([re]) => re.test(actor));
  if (hit) return hit[1];
  let h = 0;
  for (const c of actor) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return SPARE[h % SPARE.length]!;
}

/** A shape per writer too, so the rules stay apart without colour. */
function writerShape(actor: string): string {
  const shapes = ['circle', 'square', 'triangle-up', 'diamond', 'cross', 'triangle-down'];
  const i = WRITER_COLOURS.findIndex(([re]) => re.test(actor));
  return shapes[(i < 0 ? WRITER_COLOURS.length : i) % shapes.length]!;
}

/**
 * One namespace's quota key over time: spec.hard (thick, pale grey), status.hard (thin, dashed,
 * dark: what admission checks), used, what the user asked for; each change of spec.hard as
 * a point coloured and shaped by the rule (controller) that wrote it; events as vertical rules.
 */
export function quotaChart(q: QuotaSeries, markers: readonly RaceMarker[]): Promise<string> {
  const kinds = [...new Set(markers.map((m) => m.kind))];
  const writes = q.points.filter((p) => p.by !== undefined && p.series === 'spec.hard').map((p) => ({ t: p.t, value: p.value, by: p.by! }));
  const writers = [...new Set(writes.map((w) => w.by))];
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
            scale: { domain: ['spec.hard', 'status.hard', 'used', 'user asked'], range: ['#b0bec5', '#263238', '#ff8f00', '#2e7d32'] },
            legend: { orient: 'right' },
          },
          strokeWidth: { field: 'series', type: 'nominal', sort: ['spec.hard', 'status.hard', 'used', 'user asked'], scale: { domain: ['spec.hard', 'status.hard', 'used', 'user asked'], range: [6, 1.8, 2, 2] }, legend: null },
          strokeDash: { field: 'series', type: 'nominal', scale: { domain: ['spec.hard', 'status.hard', 'used', 'user asked'], range: [[1, 0], [5, 3], [1, 0], [10, 4]] }, legend: null },
        },
      },
      // Each write of spec.hard as a point, coloured by the rule (controller) that made it.
      ...(writes.length
        ? [
            {
              data: { values: writes },
              mark: { type: 'point' as const, filled: true, size: 75, opacity: 0.95, stroke: '#fff', strokeWidth: 0.8 },
              encoding: {
                x: { field: 't', type: 'quantitative' as const },
                y: { field: 'value', type: 'quantitative' as const },
                fill: { field: 'by', type: 'nominal' as const, title: 'spec.hard written by', scale: { domain: writers, range: writers.map(writerColour) }, legend: { orient: 'right' as const } },
                shape: { field: 'by', type: 'nominal' as const, title: 'spec.hard written by', scale: { domain: writers, range: writers.map(writerShape) }, legend: { orient: 'right' as const } },
              },
            },
          ]
        : []),
    ],
    resolve: { scale: { color: 'independent', stroke: 'independent', fill: 'independent', shape: 'independent' } },
  } as TopLevelSpec);
}
