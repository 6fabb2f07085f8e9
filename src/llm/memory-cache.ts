/**
 * An in-process copy of recent cache answers in front of the `llm_cache` table, so a repeated
 * prompt in a latency-bound process (the API) is answered without a round trip. Entries are
 * immutable per key (the key hashes the whole request), so a copy is never wrong before it
 * expires; it lives until the table entry's expiry but at most `maxAgeMs`, so an entry purged from
 * the table stops being served within that time. Least recently used entries go first.
 */
export class MemoryCache {
  private readonly entries = new Map<string, { text: string; expiresAt: number }>();

  constructor(
    readonly maxEntries: number,
    readonly maxAgeMs: number,
  ) {}

  get(key: string, now = Date.now()): string | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return null;
    this.entries.set(key, entry); // most recently used last
    return entry.text;
  }

  set(key: string, text: string, expiresAt: Date | number, now = Date.now()): void {
    if (this.maxEntries <= 0 || this.maxAgeMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { text, expiresAt: Math.min(Number(expiresAt), now + this.maxAgeMs) });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
