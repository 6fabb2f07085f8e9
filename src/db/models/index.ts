/**
 * Objection models: the one definition of each table's row. CRUD paths query through them
 * (bound per query with `Model.bindKnex(db)` / `.query(db)`); hot paths keep their one-statement
 * raw SQL and type what it returns with the `…Row` types here.
 */
export { AppModel, TenantScopedModel, type Row } from './base';
export { Tenant, type TenantRow } from './tenant';
export { Engine, type EngineRow, type EngineRecord } from './engine';
export { Project, ProjectMember, type ProjectRow, type MemberRow } from './project';
export { Item, type ItemRow } from './item';
export { Job, JobItem, type JobRow } from './job';
export { Annotation, type AnnotationRow } from './annotation';
export { Task, Conflict, type TaskRow, type ConflictRow } from './task';
export { Suggestion, FewShotExample, type SuggestionRow, type FewShotExampleRow } from './suggestion';
export { QualityReport, QualityAlert, Inconsistency, type QualityReportRow, type QualityAlertRow, type InconsistencyRecord } from './quality';
export { EventRecord, AuditEntry, type EventRow, type AuditRow } from './event';
export { LlmUsage, LlmCacheEntry, type LlmUsageRow, type LlmCacheRow } from './llm';
export { FinalLabelRecord, type FinalLabelRow } from './final-label';
export { ProviderBatch, type ProviderBatchRow } from './provider-batch';
