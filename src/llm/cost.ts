import type { TokenUsage } from './types';

/** What the cost of a call depends on: the engine row's prices (numeric strings from PostgreSQL). */
export interface EnginePrices {
  price_input_per_1k: string | number;
  price_output_per_1k: string | number;
  params?: { cached_input_per_1k?: string | number | null; [k: string]: unknown } | null;
}

/** A decimal as an integer and a power-of-ten scale: value = units / 10^scale. */
interface Scaled {
  units: bigint;
  scale: number;
}

/**
 * The exact cost of a call in USD as a decimal string, no floating point:
 * prompt/1000 * input price + completion/1000 * output price, where cached prompt tokens are
 * billed at `params.cached_input_per_1k` when the engine sets one. Prices of any precision.
 */
export function computeCostUsd(usage: TokenUsage, prices: EnginePrices): string {
  const prompt = tokenCount(usage.promptTokens);
  const completion = tokenCount(usage.completionTokens);
  const cachedPrice = prices.params?.cached_input_per_1k;
  const hasCachedPrice = cachedPrice !== undefined && cachedPrice !== null && String(cachedPrice).trim() !== '';
  const cached = hasCachedPrice ? minBig(tokenCount(usage.cachedTokens), prompt) : 0n;

  const terms: [bigint, Scaled][] = [
    [prompt - cached, parseDecimal(prices.price_input_per_1k)],
    [completion, parseDecimal(prices.price_output_per_1k)],
  ];
  if (hasCachedPrice) terms.push([cached, parseDecimal(cachedPrice as string | number)]);

  const scale = Math.max(...terms.map(([, p]) => p.scale));
  let units = 0n;
  for (const [tokens, price] of terms) units += tokens * price.units * 10n ** BigInt(scale - price.scale);
  // Per 1k tokens: dividing by 1000 is three more decimal places, exactly.
  return formatDecimal({ units, scale: scale + 3 });
}

/** Exact sum of decimal strings (for totals over ledger rows). */
export function sumDecimals(values: (string | number)[]): string {
  const parsed = values.map(parseDecimal);
  const scale = Math.max(0, ...parsed.map((p) => p.scale));
  let units = 0n;
  for (const p of parsed) units += p.units * 10n ** BigInt(scale - p.scale);
  return formatDecimal({ units, scale });
}

export function parseDecimal(value: string | number): Scaled {
  const s = String(value).trim();
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`not a decimal: ${JSON.stringify(s)}`);
  const [, sign, intPart, fracPart = '', exp = '0'] = m;
  let units = BigInt((intPart || '0') + fracPart);
  let scale = fracPart.length - Number(exp);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units: sign === '-' ? -units : units, scale };
}

/** The shortest exact decimal string: no exponent, no trailing zeros ("0", "0.00195", "12.5"). */
export function formatDecimal({ units, scale }: Scaled): string {
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    let int = digits.slice(0, digits.length - scale);
    const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
    int = int.replace(/^0+(?=\d)/, '');
    digits = frac ? `${int}.${frac}` : int;
  }
  return negative && /[1-9]/.test(digits) ? `-${digits}` : digits;
}

function tokenCount(n: number | undefined): bigint {
  if (n === undefined || n === null || !Number.isFinite(n) || n <= 0) return 0n;
  return BigInt(Math.floor(n));
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** What a batch-mode call's cost depends on: the sync prices and the engine's batch overrides. */
export interface EngineBatchPrices extends EnginePrices {
  batch_price_input_per_1k?: string | number | null;
  batch_price_output_per_1k?: string | number | null;
}

/**
 * The prices a provider batch request is billed at: the engine's batch prices where set, else
 * half its sync prices (what OpenAI Batch and Anthropic Message Batches charge). A cached-input
 * price, when the engine has one, is halved too. Exact decimals.
 */
export function batchPrices(engine: EngineBatchPrices): EnginePrices {
  const given = (v: string | number | null | undefined) => v !== undefined && v !== null && String(v).trim() !== '';
  const cached = engine.params?.cached_input_per_1k;
  return {
    price_input_per_1k: given(engine.batch_price_input_per_1k) ? String(engine.batch_price_input_per_1k) : halfDecimal(engine.price_input_per_1k),
    price_output_per_1k: given(engine.batch_price_output_per_1k) ? String(engine.batch_price_output_per_1k) : halfDecimal(engine.price_output_per_1k),
    params: given(cached) ? { ...engine.params, cached_input_per_1k: halfDecimal(cached as string | number) } : (engine.params ?? null),
  };
}

/** Exactly half of a decimal: ×5 and one more decimal place. */
export function halfDecimal(value: string | number): string {
  const { units, scale } = parseDecimal(value);
  return formatDecimal({ units: units * 5n, scale: scale + 1 });
}
