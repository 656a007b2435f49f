// The API reference (npm run docs) builds without warnings, and every public
// function has a description and an example in it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { checkedOnHost } from './helpers';
import * as numaplace from '../lib/index';

interface Reflection {
  name: string;
  kind: number;
  signatures?: { comment?: { summary?: unknown[]; blockTags?: { tag: string }[] } }[];
}

const FUNCTION = 64;
const ROOT = path.join(__dirname, '..');

t.test('typedoc builds the reference; every function is described with an example', async (t) => {
  if (checkedOnHost(t, 'the API reference')) return;
  const out = mkdtempSync(path.join(tmpdir(), 'numaplace-docs-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const typedoc = path.join(ROOT, 'node_modules/typedoc/bin/typedoc');
  execFileSync(process.execPath, [typedoc, '--out', path.join(out, 'html'), '--json', path.join(out, 'api.json')], { cwd: ROOT, stdio: 'pipe' });
  t.ok(existsSync(path.join(out, 'html', 'index.html')), 'HTML reference written');
  const api = JSON.parse(readFileSync(path.join(out, 'api.json'), 'utf8')) as { children: Reflection[] };
  const documented = api.children.filter((child) => child.kind === FUNCTION);
  const exported = Object.entries(numaplace).filter(([, value]) => typeof value === 'function' && !/^class /.test(String(value)));
  t.same(documented.map((fn) => fn.name).sort(), exported.map(([name]) => name).sort(), 'the reference lists every exported function');
  for (const fn of documented) {
    const comments = (fn.signatures ?? []).map((signature) => signature.comment);
    t.ok(comments.some((comment) => (comment?.summary?.length ?? 0) > 0), `${fn.name} has a description`);
    t.ok(comments.some((comment) => comment?.blockTags?.some((tag) => tag.tag === '@example')), `${fn.name} has an example`);
  }
});
