import { allPages, api } from './api';
import type { Item, Project } from './types';

/**
 * Items by id. The API lists a project's items in pages (no read by id), so the app reads pages
 * until it has the ids it needs, keeping what it read for the session's next item.
 */
const cache = new Map<string, Item>();
const projects = new Map<string, Promise<Project>>();

export async function itemsById(projectId: string, ids: string[]): Promise<Map<string, Item>> {
  const missing = ids.filter((id) => !cache.has(id));
  if (missing.length) {
    const wanted = new Set(missing);
    for (let page = 1; wanted.size; page++) {
      const res = await api<{ items: Item[]; total: number; page_size: number }>(`/projects/${projectId}/items?page=${page}&page_size=500`);
      for (const item of res.items) {
        cache.set(item.id, item);
        wanted.delete(item.id);
      }
      if (!res.items.length || page * res.page_size >= res.total) break;
    }
  }
  return new Map(ids.filter((id) => cache.has(id)).map((id) => [id, cache.get(id)!]));
}

export function projectOf(projectId: string): Promise<Project> {
  let p = projects.get(projectId);
  if (!p) {
    p = api<Project>(`/projects/${projectId}`);
    p.catch(() => projects.delete(projectId));
    projects.set(projectId, p);
  }
  return p;
}

export const listProjects = () => allPages<Project>('/projects', 500);
