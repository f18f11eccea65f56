import type { Strategy } from './api.js';

/**
 * Strategies loaded from a module file: never trusted, whatever object they export (a
 * module could re-export a built-in's object). Built-ins are trusted by construction:
 * they come from resolving a built-in's name.
 */
const untrusted = new WeakSet<object>();

export function markUntrusted(s: Strategy): void {
  untrusted.add(s);
}

export function isUntrusted(s: Strategy): boolean {
  return untrusted.has(s);
}
