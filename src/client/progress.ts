/**
 * Progress output of the CLI: a redrawn bar on a terminal, plain lines elsewhere (at most one
 * per interval, and one whenever the status changes), or JSON lines with --json.
 */

export interface ProgressSnapshot {
  /** What is progressing: "import", "pre-annotation", "export". */
  label: string;
  done: number;
  /** null: unknown (an export counts up). */
  total: number | null;
  /** The bar's fill when it is not done/total (an import follows the bytes of its file). */
  fraction?: number;
  unit?: string;
  /** Per second. */
  rate?: number | null;
  etaSeconds?: number | null;
  /** USD, as the API gives it (exact decimal text). */
  costUsd?: string | null;
  budgetUsd?: string | null;
  status?: string;
  /** Counts worth showing beside the bar: { succeeded: 10, failed: 1 }. */
  counts?: Record<string, number>;
}

export type OutputMode = 'tty' | 'plain' | 'json';

/** `--json` wins; otherwise a terminal gets the bar and everything else plain lines. */
export function outputMode(json: boolean, stream: { isTTY?: boolean }): OutputMode {
  if (json) return 'json';
  return stream.isTTY ? 'tty' : 'plain';
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function formatRate(perSecond: number, unit: string): string {
  const r = perSecond >= 100 ? perSecond.toFixed(0) : perSecond >= 10 ? perSecond.toFixed(1) : perSecond.toFixed(2);
  return `${r} ${unit}/s`;
}

export function renderBar(done: number, total: number, width: number): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const full = Math.round(fraction * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/** One line: `pre-annotation [#####-----] 50% 500/1000 items · 12.3 items/s · ETA 0:41 · $0.0123 / $1.00 · running · failed 2`. */
export function renderProgressLine(s: ProgressSnapshot, barWidth = 24): string {
  const unit = s.unit ?? 'items';
  const parts: string[] = [];
  if (s.fraction !== undefined) {
    parts.push(`${s.label} ${renderBar(s.fraction, 1, barWidth)} ${Math.floor(s.fraction * 100)}% ${s.done}${s.total !== null ? `/${s.total}` : ''} ${unit}`);
  } else if (s.total !== null && s.total > 0) {
    const pct = Math.floor((Math.min(s.done, s.total) / s.total) * 100);
    parts.push(`${s.label} ${renderBar(s.done, s.total, barWidth)} ${pct}% ${s.done}/${s.total} ${unit}`);
  } else if (s.total === 0) parts.push(`${s.label} 0/0 ${unit}`);
  else parts.push(`${s.label} ${s.done} ${unit}`);
  if (s.rate != null && s.rate > 0) parts.push(formatRate(s.rate, unit));
  if (s.etaSeconds != null) parts.push(`ETA ${formatDuration(s.etaSeconds)}`);
  if (s.costUsd != null) parts.push(`$${s.costUsd}${s.budgetUsd ? ` / $${s.budgetUsd}` : ''}`);
  if (s.status) parts.push(s.status);
  for (const [k, v] of Object.entries(s.counts ?? {})) if (v) parts.push(`${k} ${v}`);
  return parts.join(' · ');
}

/** The line in `width` columns: a shorter bar, then whole ` · ` parts dropped from the end (never a cut word). */
export function fitLine(s: ProgressSnapshot, width: number): string {
  for (const bar of [24, 12]) {
    const line = renderProgressLine(s, bar);
    if (line.length <= width) return line;
  }
  const parts = renderProgressLine(s, 12).split(' · ');
  while (parts.length > 1 && parts.join(' · ').length > width) parts.pop();
  return parts.join(' · ').slice(0, Math.max(0, width));
}

export interface Writable {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class ProgressReporter {
  private lastPlainAt = 0;
  private lastDrawAt = 0;
  private lastStatus: string | undefined;
  private drawn = false;

  constructor(
    private readonly out: Writable,
    private readonly mode: OutputMode,
    private readonly plainIntervalMs = 2000,
    private readonly now: () => number = Date.now,
  ) {}

  update(s: ProgressSnapshot): void {
    if (this.mode === 'json' || this.mode === 'tty') {
      // At most ten a second, and at every status change: an export reports every chunk it receives.
      const t = this.now();
      if (this.lastDrawAt && s.status === this.lastStatus && t - this.lastDrawAt < 100) return;
      this.lastDrawAt = t;
      this.lastStatus = s.status;
      if (this.mode === 'json') this.writeJson(s);
      else this.draw(s);
      return;
    }
    const line = renderProgressLine(s);
    const t = this.now();
    if (s.status !== this.lastStatus || t - this.lastPlainAt >= this.plainIntervalMs) {
      this.out.write(`${line}\n`);
      this.lastPlainAt = t;
      this.lastStatus = s.status;
    }
  }

  private writeJson(s: ProgressSnapshot): void {
    this.out.write(`${JSON.stringify({ type: 'progress', ...s })}\n`);
  }

  private draw(s: ProgressSnapshot): void {
    // A pty without a size (script, some CI runners) says 0 columns.
    this.out.write(`\r\x1b[2K${fitLine(s, (this.out.columns || 120) - 1)}`);
    this.drawn = true;
  }

  /** The last state, always written (the bar's line ends). */
  finish(s: ProgressSnapshot): void {
    if (this.mode === 'json') this.writeJson(s);
    else if (this.mode === 'tty') {
      this.draw(s);
      this.out.write('\n');
    } else this.out.write(`${renderProgressLine(s)}\n`);
    this.drawn = false;
  }

  /** Ends a drawn bar's line before other output (a message, Ctrl-C). */
  interrupt(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
