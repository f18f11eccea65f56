import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What an index.html says about the campaign that wrote it: the run line, the date and the
 * scenario reports it links. Written into the page as a comment of JSON (with <, > and &
 * escaped as \u003c etc., so the comment cannot end early), read back by the next run into
 * the same folder, which then says what it replaces.
 */
export interface CampaignMark {
  readonly command: string;
  readonly date: string;
  readonly reports: readonly string[];
}

const PREFIX = '<!-- quotarace campaign ';

export function campaignComment(m: CampaignMark): string {
  const json = JSON.stringify(m).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${PREFIX}${json} -->`;
}

const unescape = (s: string) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);

/** The campaign behind an existing index.html, if there is one quotarace wrote (older indexes: from its meta line and links). */
export function readCampaignMark(reportsDir: string): CampaignMark | undefined {
  const file = join(reportsDir, 'index.html');
  if (!existsSync(file)) return undefined;
  let html: string;
  try {
    html = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const at = html.indexOf(PREFIX);
  if (at >= 0) {
    const end = html.indexOf(' -->', at);
    try {
      const m = JSON.parse(html.slice(at + PREFIX.length, end)) as CampaignMark;
      if (typeof m.command === 'string' && typeof m.date === 'string' && Array.isArray(m.reports)) return m;
    } catch {
      // fall through to the meta line
    }
  }
  const meta = /<p class="meta">quotarace [^ ]+ · ([^ <]+) · <code>([^<]*)<\/code><\/p>/.exec(html);
  if (!meta) return undefined;
  const reports = [...html.matchAll(/<div class="banner [a-z]+"><span class="word">[A-Z]+<\/span><a href="([^"#]+)">/g)].map((x) => unescape(x[1]!));
  return { command: unescape(meta[2]!), date: meta[1]!, reports };
}

/**
 * The note a run into a folder that holds another campaign prints: which campaign's index it
 * replaces, which of its scenario reports it overwrites, and which stay behind, unlinked.
 * Nothing when the folder's index is this same run line (a re-run) or there is none.
 */
export function replacesNote(reportsDir: string, previous: CampaignMark | undefined, next: CampaignMark): string | undefined {
  if (!previous || previous.command === next.command) return undefined;
  const index = join(reportsDir, 'index.html');
  const over = previous.reports.filter((r) => next.reports.includes(r));
  const left = previous.reports.filter((r) => !next.reports.includes(r));
  return [
    `note: ${index} holds another campaign (${previous.command}, ${previous.date}); this run replaces its index`,
    over.length ? `; it rewrites ${over.join(', ')}` : '',
    left.length ? `; ${left.join(', ')} stay${left.length === 1 ? 's' : ''} in ${reportsDir}, no longer linked` : '',
  ].join('');
}
