/** The shapes of the API answers the app reads (see GET /openapi.json for the whole contract). */
export type AnnotationValue = { label: string } | { labels: string[] };

export interface Project {
  id: string;
  name: string;
  label_schema: { type: 'single_label' | 'multi_label'; labels: string[] };
  guidelines?: string | null;
}

export interface Item {
  id: string;
  external_id: string | null;
  data: { text: string } & Record<string, unknown>;
}

export type TaskStatus = 'open' | 'completed' | 'escalated' | 'cancelled';

export interface Task {
  task_id: string;
  project_id: string;
  kind: 'annotate' | 'review' | string;
  status: TaskStatus;
  item_ids: string[];
  assignee_id: string | null;
  due_at: string | null;
  overdue: boolean;
  attempts: number;
  workflow_id: string;
  source: string;
  conflict_id: string | null;
  result: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
}

export interface Decision {
  task_id: string;
  decision: string;
  item_ids: string[];
  remaining: number;
}

export interface Suggestion {
  suggestion_id: string;
  value: AnnotationValue;
  confidence: number;
  engine_id: string;
  latency_ms: number;
  cached: boolean;
}

export interface Conflict {
  conflict_id: string;
  project_id: string;
  item_id: string;
  status: 'open' | 'auto_resolved' | 'resolved';
  method: string | null;
  resolved_value: AnnotationValue | null;
  resolved_by: string | null;
  reason: string | null;
  inputs: { annotation_id?: string; annotator_id: string; value: unknown }[];
  task_id: string | null;
  created_at: string;
}

export interface JobProgress {
  status: string;
  total: number;
  processed: number;
  succeeded: number;
  failed: number;
  auto_accepted: number;
  needs_review: number;
  percent: number;
  eta_seconds: number | null;
  spent_usd: string;
  max_cost_usd: string | null;
  pause_reason?: 'manual' | 'budget';
  error?: string;
}

export interface Job {
  job_id: string;
  type: string;
  project_id: string;
  status: string;
  workflow_id: string;
  run_id: string | null;
  progress: JobProgress;
  error: string | null;
  created_by: string;
  created_at: string | null;
  completed_at: string | null;
  links: { self: string; progress: string; results?: string; temporal_ui: string };
}

export interface TeamProgress {
  items: number;
  annotated: number;
  ai_annotated: number;
  reviewed: number;
  percent_annotated: number;
  tasks: { open: number; escalated: number; overdue: number; completed: number; cancelled: number };
  conflicts: { open: number; auto_resolved: number; resolved: number };
}

export interface QualityReport {
  project_id: string;
  computed_at: string;
  agreement: {
    krippendorff_alpha: { nominal: number | null; value?: number | null; level?: string };
    fleiss_kappa: number | null;
    cohen_kappa: { annotator_a: string; annotator_b: string; kappa: number | null; n: number }[];
    percent_agreement: number | null;
  };
  annotators: { annotator_id: string; items: number; gold_accuracy: number | null; agreement_with_consensus: number | null }[];
  ai: { acceptance_rate: number | null; accuracy_vs_final: number | null; engines: { engine_id: string; annotations: number; accuracy_vs_final: number | null; acceptance_rate: number | null }[] };
  inconsistencies: number;
  label_distribution: { total: number; order?: string[]; counts: Record<string, number>; proportions: Record<string, number> };
  passed: boolean;
}

export interface QualityMetrics {
  latest: {
    alerts: { metric: string; value: number; severity: string; threshold: number }[];
    annotator_windows: { annotator_id: string; windows: { window_start: string; items: number; agreement: number | null }[] }[];
  } | null;
  history: { report_id: string; computed_at: string; krippendorff_alpha: number | null; fleiss_kappa: number | null; percent_agreement: number | null; ai_accuracy_vs_final: number | null; passed: boolean }[];
}

export interface Inconsistency {
  id: string;
  kind: 'near_duplicate' | 'annotator_drift' | 'ai_human_disagreement';
  item_ids: string[];
  annotator_id: string | null;
  label: string | null;
  severity: string;
  details: Record<string, unknown>;
  created_at: string;
}

/** A frame the WebSocket hub sends. */
export type ServerFrame =
  | { type: 'event'; id: string | null; event: string; project_id: string; payload: Record<string, unknown>; created_at: string }
  | { type: 'ack'; for: string; [k: string]: unknown }
  | { type: 'error'; code: string; message: string }
  | { type: 'pong' };

export type LiveEvent = Extract<ServerFrame, { type: 'event' }>;
