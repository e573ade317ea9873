// --tags / --skip-tags with Ansible's special tags: `always` runs unless skipped by name,
// `never` runs only when asked for by name; `all` selects every task but `never` ones.
import type { TaskSpec } from '../config/playbook.js';

export interface TagFilter {
  tags?: string[];
  skipTags?: string[];
}

export function parseTagList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

export function taskSelected(task: Pick<TaskSpec, 'tags'>, f: TagFilter): boolean {
  const tags = new Set(task.tags);
  if (f.skipTags?.some((t) => tags.has(t) || (t === 'all' && !tags.has('always')))) return false;
  const wanted = f.tags && f.tags.length ? f.tags : ['all'];
  if (tags.has('always')) return true;
  if (wanted.some((t) => tags.has(t))) return true;
  if (tags.has('never')) return false;
  if (wanted.includes('all')) return true;
  if (wanted.includes('tagged')) return tags.size > 0;
  if (wanted.includes('untagged')) return tags.size === 0;
  return false;
}
