/**
 * The wire formats of values every layer shares, one home each: timestamps as ISO 8601 strings,
 * ids as UUIDs. Pure.
 */

/** A timestamp as the API and events write it (ISO 8601, UTC); null stays null. */
export function iso(d: Date | string): string;
export function iso(d: Date | string | null | undefined): string | null;
export function iso(d: Date | string | null | undefined): string | null {
  return d ? new Date(d).toISOString() : null;
}

/** A UUID in its canonical text form, any version, either case (what a uuid column accepts). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
