/**
 * Job budgets in USD, compared exactly: decimals as scaled BigInts, never floats. Pure, so
 * the workflow, the activities and the API decide the same way.
 */
import { formatDecimal, parseDecimal } from '../llm/cost';

/** jobs.cost_usd and llm_usage.cost_usd are numeric(20,10): at most 10 digits either side. */
const BUDGET = /^\d{1,10}(\.\d{1,10})?$/;
/** What a decimal *string* from a client may look like: digits and a point; no sign, exponent, hex or spaces. */
export const PLAIN_DECIMAL = /^\d+(\.\d+)?$/;

/**
 * A budget as given by a client (a JSON number or a decimal string) in canonical form
 * ("0.5", "12"), or null when it is not a decimal > 0 that fits numeric(20,10), or is a string
 * that is not a plain decimal.
 */
export function normalizeBudget(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  // A string is the client's exact text ("1e5", "+1", "0x10" are refused); a JSON number's
  // shortest round-trip form is the decimal the client wrote (0.1 → "0.1").
  if (typeof value === 'string' && !PLAIN_DECIMAL.test(value)) return null;
  const s = String(value);
  let canonical: string;
  try {
    canonical = formatDecimal(parseDecimal(s));
  } catch {
    return null;
  }
  if (!BUDGET.test(canonical) || compareDecimals(canonical, '0') <= 0) return null;
  return canonical;
}

/** -1, 0 or 1 as a < b, a = b, a > b, exactly. */
export function compareDecimals(a: string | number, b: string | number): -1 | 0 | 1 {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  const ux = x.units * 10n ** BigInt(scale - x.scale);
  const uy = y.units * 10n ** BigInt(scale - y.scale);
  return ux < uy ? -1 : ux > uy ? 1 : 0;
}

/** Canonical form of a stored decimal ("0.0012500000" → "0.00125"). */
export function canonicalDecimal(value: string | number | null | undefined): string {
  return formatDecimal(parseDecimal(value ?? '0'));
}

/** True when the spend has reached the budget; no budget is never reached. */
export function budgetReached(spentUsd: string, maxCostUsd: string | null | undefined): boolean {
  return maxCostUsd !== null && maxCostUsd !== undefined && compareDecimals(spentUsd, maxCostUsd) >= 0;
}
