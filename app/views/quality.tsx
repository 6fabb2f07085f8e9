import { useState } from 'preact/hooks';
import { ApiFailure, api, describeFailure, post } from '../lib/api';
import { num, pct, short, when } from '../lib/format';
import { useLoad, useProjectEvents } from '../lib/hooks';
import type { Inconsistency, QualityMetrics, QualityReport } from '../lib/types';
import { BarChart, Heatmap, Legend, LineChart, type Series } from './charts';
import { ErrorNote, PageTitle, ProjectPicker } from './common';

/**
 * The latest quality report as charts: agreement per annotator pair (Cohen's κ heat map), label
 * distribution, agreement over time (one point per report); then the inconsistencies list.
 */
export function QualityView({ projectId }: { projectId: string | undefined }) {
  const data = useLoad(async () => {
    if (!projectId) return null;
    const report = await api<QualityReport>(`/annotation/quality-report/${projectId}`).catch((err) => {
      if (err instanceof ApiFailure && err.status === 404) return null;
      throw err;
    });
    const [metrics, inconsistencies] = await Promise.all([
      api<QualityMetrics>(`/annotation/quality-metrics?project_id=${projectId}`),
      report ? api<{ items: Inconsistency[]; total: number }>(`/annotation/inconsistencies/${projectId}?page_size=100`) : Promise.resolve({ items: [], total: 0 }),
    ]);
    return { report, metrics, inconsistencies };
  }, [projectId]);
  useProjectEvents(projectId ? [projectId] : [], (e) => {
    if (e.event === 'quality.alert' || (e.event === 'job.completed' && (e.payload as { job_type?: string }).job_type === 'validation')) void data.reload();
  });
  const [validating, setValidating] = useState<string | null>(null);
  const validate = async () => {
    try {
      await post('/annotation/validate', { project_id: projectId });
      setValidating('Validation started: the report refreshes when it completes.');
    } catch (err) {
      setValidating(describeFailure(err));
    }
  };

  const report = data.data?.report;
  return (
    <section aria-labelledby="quality-title">
      <PageTitle>
        <span id="quality-title">Quality</span>
      </PageTitle>
      <div class="toolbar">
        <ProjectPicker projectId={projectId} path="/quality" />
        <button type="button" onClick={validate} disabled={!projectId}>
          Run validation
        </button>
      </div>
      {validating && <p role="status">{validating}</p>}
      <ErrorNote error={data.error} />
      {data.data && !report && <p>No quality report yet for this project: run a validation.</p>}
      {report && (
        <>
          <p class={report.passed ? 'banner ok' : 'banner gone'} data-testid="quality-summary">
            Report of {when(report.computed_at)}: {report.passed ? 'passed' : 'below an alert threshold'} · Krippendorff α {num(report.agreement.krippendorff_alpha.value ?? report.agreement.krippendorff_alpha.nominal)} · Fleiss κ{' '}
            {num(report.agreement.fleiss_kappa)} · agreement {pct(report.agreement.percent_agreement)} · AI acceptance {pct(report.ai.acceptance_rate)} · AI accuracy vs final {pct(report.ai.accuracy_vs_final)}
          </p>
          {!!data.data?.metrics.latest?.alerts.length && (
            <ul class="alerts" aria-label="Alerts">
              {data.data.metrics.latest.alerts.map((a) => (
                <li class={`tag status-${a.severity}`}>
                  {a.metric} {num(a.value)} ({a.severity}, threshold {num(a.threshold)})
                </li>
              ))}
            </ul>
          )}
          <div class="charts">
            <figure class="card">
              <figcaption>Agreement per annotator pair (Cohen’s κ)</figcaption>
              <PairHeatmap report={report} />
            </figure>
            <figure class="card">
              <figcaption>Label distribution ({report.label_distribution.total} final labels)</figcaption>
              <BarChart
                title="Label distribution"
                bars={(report.label_distribution.order ?? Object.keys(report.label_distribution.counts)).map((l) => ({
                  label: l,
                  value: report.label_distribution.counts[l] ?? 0,
                  note: pct(report.label_distribution.proportions[l] ?? 0),
                }))}
              />
            </figure>
            <figure class="card wide">
              <figcaption>Agreement over time (one point per report)</figcaption>
              <OverTime metrics={data.data!.metrics} />
            </figure>
          </div>
          <Inconsistencies list={data.data!.inconsistencies.items} total={data.data!.inconsistencies.total} />
        </>
      )}
    </section>
  );
}

function PairHeatmap({ report }: { report: QualityReport }) {
  const pairs = report.agreement.cohen_kappa;
  if (!pairs.length) return <p>No two annotators labelled the same items yet.</p>;
  const names = [...new Set(pairs.flatMap((p) => [p.annotator_a, p.annotator_b]))].sort();
  const byPair = new Map(pairs.map((p) => [[p.annotator_a, p.annotator_b].sort().join('\u0000'), p]));
  return (
    <Heatmap
      title="Cohen's kappa for each pair of annotators"
      names={names}
      value={(a, b) => {
        const p = byPair.get([a, b].sort().join('\u0000'));
        return { v: p?.kappa ?? null, n: p?.n ?? 0 };
      }}
    />
  );
}

function OverTime({ metrics }: { metrics: QualityMetrics }) {
  const history = [...metrics.history].sort((a, b) => a.computed_at.localeCompare(b.computed_at));
  if (!history.length) return <p>No reports yet.</p>;
  const point = (pick: (h: (typeof history)[number]) => number | null) => history.map((h) => ({ t: new Date(h.computed_at).getTime(), v: pick(h) }));
  const series: Series[] = [
    { name: 'percent agreement', colour: '#2563eb', points: point((h) => h.percent_agreement) },
    { name: 'Krippendorff α', colour: '#b45309', points: point((h) => h.krippendorff_alpha) },
    { name: 'AI accuracy vs final', colour: '#047857', points: point((h) => h.ai_accuracy_vs_final) },
  ];
  const all = series.flatMap((s) => s.points.map((p) => p.v)).filter((v): v is number => v !== null);
  return (
    <>
      <LineChart title="Agreement over time" series={series} min={Math.min(0, ...all)} max={1} />
      <Legend series={series} />
    </>
  );
}

function Inconsistencies({ list, total }: { list: Inconsistency[]; total: number }) {
  return (
    <section aria-labelledby="inc-title">
      <h2 id="inc-title">
        Inconsistencies <span class="count">{total}</span>
      </h2>
      {!list.length ? (
        <p>None in the latest report.</p>
      ) : (
        <table data-testid="inconsistencies">
          <caption class="sr-only">Inconsistencies of the latest report{total > list.length ? ` (first ${list.length} of ${total})` : ''}</caption>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Severity</th>
              <th scope="col">Items</th>
              <th scope="col">Annotator</th>
              <th scope="col">Label</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {list.map((i) => (
              <tr>
                <td>{i.kind.replace(/_/g, ' ')}</td>
                <td>{i.severity}</td>
                <td>{i.item_ids.map(short).join(', ')}</td>
                <td>{i.annotator_id ?? '—'}</td>
                <td>{i.label ?? '—'}</td>
                <td class="details">{detailText(i.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function detailText(d: Record<string, unknown>): string {
  return Object.entries(d)
    .filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v)}`)
    .join(' · ');
}
