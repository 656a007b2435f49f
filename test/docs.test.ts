// The API reference (npm run docs) builds without warnings, and every public
// function has a description and an example in it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { checkedOnHost } from './helpers';
import * as numaplace from '../lib/index';

interface Comment {
  summary?: unknown[];
  blockTags?: { tag: string }[];
}

interface Reflection {
  name: string;
  kind: number;
  comment?: Comment;
  children?: Reflection[];
  signatures?: { comment?: Comment; parameters?: { name: string; comment?: Comment }[] }[];
}

const FUNCTION = 64;
const INTERFACE = 256;
const PROPERTY = 1024;
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
    t.ok(comments.some((comment) => comment?.blockTags?.some((tag) => tag.tag === '@throws')), `${fn.name} says what it throws`);
    const parameters = (fn.signatures ?? []).flatMap((signature) => signature.parameters ?? []);
    for (const name of new Set(parameters.map((parameter) => parameter.name))) {
      const described = parameters.some((parameter) => parameter.name === name && (parameter.comment?.summary?.length ?? 0) > 0);
      t.ok(described, `${fn.name}: @param ${name}`);
    }
  }
  for (const shape of api.children.filter((child) => child.kind === INTERFACE)) {
    const undescribed = (shape.children ?? []).filter((field) => field.kind === PROPERTY && !(field.comment?.summary?.length ?? 0)).map((field) => field.name);
    t.same(undescribed, [], `every field of ${shape.name} is described`);
  }
});
