/**
 * Inline SVG charts, drawn from the API's numbers: a heat map, a bar chart and a line chart. Each
 * has a title and a text description for screen readers, and a table-like legend where it matters.
 */

/** Agreement (−1…1) → a colour from red (disagreement) through light grey (chance) to blue. */
export function agreementColour(v: number | null): string {
  if (v === null) return '#e5e7eb';
  const t = Math.max(-1, Math.min(1, v));
  if (t >= 0) return `rgb(${Math.round(240 - 200 * t)}, ${Math.round(240 - 130 * t)}, ${Math.round(240 - 20 * t)})`;
  return `rgb(${Math.round(240 - 10 * -t)}, ${Math.round(240 - 170 * -t)}, ${Math.round(240 - 170 * -t)})`;
}

export function Heatmap({ names, value, title }: { names: string[]; value: (a: string, b: string) => { v: number | null; n: number }; title: string }) {
  const cell = 44;
  // Room for the longest (clipped) name, rotated on top and straight on the left.
  const pad = 24 + 7 * Math.max(3, ...names.map((n) => clip(n).length));
  const size = pad + cell * names.length;
  return (
    <svg role="img" aria-labelledby="hm-title hm-desc" width={size} height={size} viewBox={`0 0 ${size} ${size}`} data-testid="heatmap">
      <title id="hm-title">{title}</title>
      <desc id="hm-desc">
        {names.flatMap((a, i) => names.slice(i + 1).map((b) => `${a} and ${b}: ${fmt(value(a, b).v)}`)).join('; ')}
      </desc>
      {names.map((n, i) => (
        <g>
          <text x={pad - 6} y={pad + i * cell + cell / 2 + 4} text-anchor="end" class="axis">
            {clip(n)}
          </text>
          <text x={pad + i * cell + cell / 2} y={pad - 6} text-anchor="start" class="axis" transform={`rotate(-45 ${pad + i * cell + cell / 2} ${pad - 6})`}>
            {clip(n)}
          </text>
        </g>
      ))}
      {names.map((a, i) =>
        names.map((b, j) => {
          const { v, n } = i === j ? { v: 1, n: 0 } : value(a, b);
          return (
            <g>
              <rect x={pad + j * cell} y={pad + i * cell} width={cell - 2} height={cell - 2} fill={i === j ? '#cbd5e1' : agreementColour(v)}>
                <title>{i === j ? a : `${a} × ${b}: κ ${fmt(v)} over ${n} items`}</title>
              </rect>
              {i !== j && (
                <text x={pad + j * cell + cell / 2 - 1} y={pad + i * cell + cell / 2 + 4} text-anchor="middle" class={v !== null && Math.abs(v) > 0.6 ? 'cell light' : 'cell'}>
                  {v === null ? '–' : v.toFixed(2)}
                </text>
              )}
            </g>
          );
        }),
      )}
    </svg>
  );
}

export function BarChart({ bars, title }: { bars: { label: string; value: number; note?: string }[]; title: string }) {
  const width = 520;
  const row = 28;
  const left = 130;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = row * bars.length + 10;
  return (
    <svg role="img" aria-labelledby="bar-title bar-desc" width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-testid="bar-chart">
      <title id="bar-title">{title}</title>
      <desc id="bar-desc">{bars.map((b) => `${b.label}: ${b.value}${b.note ? ` (${b.note})` : ''}`).join('; ')}</desc>
      {bars.map((b, i) => {
        const w = ((width - left - 90) * b.value) / max;
        return (
          <g>
            <text x={left - 8} y={i * row + 19} text-anchor="end" class="axis">
              {clip(b.label)}
            </text>
            <rect x={left} y={i * row + 5} width={Math.max(1, w)} height={row - 10} fill="#2563eb" />
            <text x={left + w + 6} y={i * row + 19} class="axis">
              {b.value}
              {b.note ? ` (${b.note})` : ''}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export interface Series {
  name: string;
  colour: string;
  points: { t: number; v: number | null }[];
}

export function LineChart({ series, title, min = 0, max = 1 }: { series: Series[]; title: string; min?: number; max?: number }) {
  const width = 560;
  const height = 220;
  const m = { l: 44, r: 12, t: 12, b: 28 };
  const ts = series.flatMap((s) => s.points.map((p) => p.t));
  const t0 = Math.min(...ts);
  const t1 = Math.max(...ts);
  const x = (t: number) => m.l + (t1 === t0 ? (width - m.l - m.r) / 2 : ((t - t0) / (t1 - t0)) * (width - m.l - m.r));
  const y = (v: number) => m.t + (1 - (v - min) / (max - min)) * (height - m.t - m.b);
  const ticks = [min, (min + max) / 2, max];
  return (
    <svg role="img" aria-labelledby="line-title line-desc" width={width} height={height} viewBox={`0 0 ${width} ${height}`} data-testid="line-chart">
      <title id="line-title">{title}</title>
      <desc id="line-desc">
        {series.map((s) => `${s.name}: ${s.points.map((p) => `${new Date(p.t).toLocaleString()} ${fmt(p.v)}`).join(', ')}`).join('; ')}
      </desc>
      {ticks.map((v) => (
        <g>
          <line x1={m.l} x2={width - m.r} y1={y(v)} y2={y(v)} stroke="#d1d5db" />
          <text x={m.l - 6} y={y(v) + 4} text-anchor="end" class="axis">
            {v.toFixed(1)}
          </text>
        </g>
      ))}
      {Number.isFinite(t0) && (
        <>
          <text x={m.l} y={height - 8} class="axis">
            {new Date(t0).toLocaleDateString()}
          </text>
          <text x={width - m.r} y={height - 8} text-anchor="end" class="axis">
            {new Date(t1).toLocaleString()}
          </text>
        </>
      )}
      {series.map((s) => {
        const pts = s.points.filter((p) => p.v !== null) as { t: number; v: number }[];
        return (
          <g>
            <polyline fill="none" stroke={s.colour} stroke-width={2} points={pts.map((p) => `${x(p.t)},${y(p.v)}`).join(' ')} />
            {pts.map((p) => (
              <circle cx={x(p.t)} cy={y(p.v)} r={3.5} fill={s.colour}>
                <title>{`${s.name} ${fmt(p.v)} at ${new Date(p.t).toLocaleString()}`}</title>
              </circle>
            ))}
          </g>
        );
      })}
    </svg>
  );
}

export function Legend({ series }: { series: Series[] }) {
  return (
    <ul class="legend">
      {series.map((s) => (
        <li>
          <span class="swatch" style={{ background: s.colour }} aria-hidden="true" /> {s.name}
        </li>
      ))}
    </ul>
  );
}

const fmt = (v: number | null) => (v === null ? 'no data' : v.toFixed(2));
const clip = (s: string) => (s.length > 16 ? `${s.slice(0, 15)}…` : s);
