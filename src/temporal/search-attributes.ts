import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Search attributes that let operators filter runs in the Temporal UI. */
export const TENANT_ID = defineSearchAttributeKey('AnnotationTenantId', SearchAttributeType.KEYWORD);
export const PROJECT_ID = defineSearchAttributeKey('AnnotationProjectId', SearchAttributeType.KEYWORD);
export const JOB_TYPE = defineSearchAttributeKey('AnnotationJobType', SearchAttributeType.KEYWORD);

export const ALL_SEARCH_ATTRIBUTES = [TENANT_ID, PROJECT_ID, JOB_TYPE];
