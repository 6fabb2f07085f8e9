import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api } from '../lib/api';
import { valueText } from '../lib/format';
import type { AnnotationValue } from '../lib/types';

interface FinalLabel {
  status: 'labelled' | 'unresolved';
  value: AnnotationValue | null;
  source: string;
  method: string;
  decided_by: string;
  decided_at: string;
}

interface AuditEntry {
  id: string;
  actor: string;
  action: string;
  details: Record<string, unknown>;
  created_at: string;
}

/**
 * Who changed this item's label, when and why: its current final label with provenance (from the
 * items list) and its audit trail (GET /annotation/audit?item_id=…, managers and admins only; for
 * others the trail is simply not shown). Read again whenever `version` changes (a decision).
 */
export function ItemHistory({ projectId, itemId, version }: { projectId: string; itemId: string; version: number }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [finalLabel, setFinalLabel] = useState<FinalLabel | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    api<{ items: { final_label: FinalLabel | null }[] }>(`/projects/${projectId}/items?id=${itemId}`).then(
      (page) => live && setFinalLabel(page.items[0]?.final_label ?? null),
      () => live && setFinalLabel(undefined),
    );
    api<{ items: AuditEntry[] }>(`/annotation/audit?project_id=${projectId}&item_id=${itemId}&page_size=20`).then(
      (page) => live && setEntries(page.items),
      (err) => live && setEntries(err instanceof ApiFailure && err.status === 403 ? null : []),
    );
    return () => void (live = false);
  }, [projectId, itemId, version]);

  return (
    <details class="history" data-testid="item-history">
      <summary>Item history</summary>
      <p data-testid="final-label">
        {finalLabel
          ? finalLabel.status === 'unresolved'
            ? `Final label: unresolved (a tie), ${finalLabel.method}`
            : `Final label: ${valueText(finalLabel.value)} — ${finalLabel.source} (${finalLabel.method}) by ${finalLabel.decided_by}, ${new Date(finalLabel.decided_at).toLocaleString()}`
          : finalLabel === null
            ? 'No final label yet.'
            : ''}
      </p>
      {entries && (
        <ol class="audit" aria-label="Audit trail">
          {entries.length === 0 && <li>No recorded changes.</li>}
          {entries.map((e) => (
            <li key={e.id}>
              <time dateTime={e.created_at}>{new Date(e.created_at).toLocaleString()}</time> · <strong>{e.actor}</strong> · {e.action}
              {typeof e.details.reason === 'string' && e.details.reason ? ` — ${e.details.reason}` : ''}
            </li>
          ))}
        </ol>
      )}
    </details>
  );
}
