/** Readable, tenant-scoped workflow ids: operators can find a run from the job they look at. */
export const workflowIds = {
  preAnnotation: (tenantId: string, jobId: string) => `pre-annotation/${tenantId}/${jobId}`,
  batchCoverage: (tenantId: string, jobId: string) => `batch-coverage/${tenantId}/${jobId}`,
  validation: (tenantId: string, jobId: string) => `validation/${tenantId}/${jobId}`,
  review: (tenantId: string, taskId: string) => `review/${tenantId}/${taskId}`,
  conflict: (tenantId: string, conflictId: string) => `conflict/${tenantId}/${conflictId}`,
};

export function temporalUiLink(uiUrl: string, namespace: string, workflowId: string, runId?: string | null): string {
  const base = `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}` : base;
}
