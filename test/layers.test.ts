// The house rules of lib/, checked on the source: argument checks live in
// lib/checks.ts alone, which stands on nothing but the error helpers; a
// NumaError is built in lib/errors.ts alone (from a failed call, a condition
// checked before one, or a file the kernel wrote wrong).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { checkedOnHost } from './helpers';

const LIB = path.join(__dirname, '..', 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

/** Lines of lib/ (all but `except`) that match `pattern`, as "file:line: text". */
function offending(pattern: RegExp, except: string[]): string[] {
  return sources(LIB)
    .filter((file) => !except.includes(path.relative(LIB, file)))
    .flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, index) => (pattern.test(line) ? [`${path.relative(LIB, file)}:${index + 1}: ${line.trim()}`] : [])),
    );
}

t.test('argument errors are thrown by lib/checks.ts only', async (t) => {
  if (checkedOnHost(t, 'the layering of lib/')) return;
  t.same(offending(/new (TypeError|RangeError)\(|invalid(Type|Range)\(/, ['checks.ts', 'errors.ts']), []);
});

t.test('lib/checks.ts imports nothing but the error helpers and Node', async (t) => {
  if (checkedOnHost(t, 'the layering of lib/')) return;
  const imports = [...readFileSync(path.join(LIB, 'checks.ts'), 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((match) => match[1]);
  t.same(imports.filter((from) => !from.startsWith('node:')), ['./errors']);
});

t.test('a NumaError is made in lib/errors.ts only', async (t) => {
  if (checkedOnHost(t, 'the layering of lib/')) return;
  t.same(offending(/new NumaError\(/, ['errors.ts']), []);
});
