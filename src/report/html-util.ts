/** Every string from a scenario, a strategy or a trace goes through this. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A fragment id for a section about one strategy ("failures-pre-fix", "race-v1.4.2"): the
 * same in the page that defines it and in every link to it. Characters outside
 * [A-Za-z0-9._-] are written as _hex_, so any strategy name gives a valid, unique id that
 * needs no escaping in an href.
 */
export function anchor(section: string, strategy: string): string {
  return `${section}-${strategy.replace(/[^A-Za-z0-9._-]/g, (c) => `_${c.codePointAt(0)!.toString(16)}_`)}`;
}
