import type { PresencePayload } from './messages';

/** A presence change as replicas tell each other (pg_notify on the presence channel). */
export interface PresenceNotice extends PresencePayload {
  replica_id: string;
  tenant_id: string;
  project_id: string;
}

/**
 * Who is present in each project, across replicas, held in memory: entries are keyed by
 * `<replica>:<connection>`, so every replica's roster converges on the same set. Not stored:
 * presence is live state, and a restarted replica's users announce themselves again.
 */
export class PresenceRoster {
  private readonly byProject = new Map<string, Map<string, PresencePayload>>();

  /** Records a join, update or leave (`state: 'left'`). */
  apply(projectKey: string, presenceId: string, payload: PresencePayload): void {
    let map = this.byProject.get(projectKey);
    if (payload.state === 'left') {
      map?.delete(presenceId);
      if (map && !map.size) this.byProject.delete(projectKey);
      return;
    }
    if (!map) this.byProject.set(projectKey, (map = new Map()));
    map.set(presenceId, payload);
  }

  /** Everyone present in a project except the given connection, as joins (for a new subscriber). */
  snapshot(projectKey: string, exceptConnectionId: string): PresencePayload[] {
    const map = this.byProject.get(projectKey);
    if (!map) return [];
    return [...map.values()].filter((p) => p.connection_id !== exceptConnectionId).map((p) => ({ ...p, action: 'join' as const }));
  }
}

/** Another replica's notice, or null for our own, a malformed one, or one missing its scope. */
export function parsePresenceNotice(raw: string, ownReplicaId: string): { tenantId: string; projectId: string; presenceId: string; payload: PresencePayload } | null {
  let n: PresenceNotice;
  try {
    n = JSON.parse(raw) as PresenceNotice;
  } catch {
    return null;
  }
  if (n.replica_id === ownReplicaId || typeof n.tenant_id !== 'string' || typeof n.project_id !== 'string') return null;
  const { replica_id, tenant_id, project_id, ...payload } = n;
  return { tenantId: tenant_id, projectId: project_id, presenceId: `${replica_id}:${payload.connection_id}`, payload };
}
