import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Every workflow start, signal, query and update goes through its definition (the workflow
 * function, `defineSignal` / `defineQuery` / `defineUpdate`), so arguments are typed and a
 * rename is one edit. This guard fails on a call that names a workflow or message by string.
 */
const ROOT = path.resolve(__dirname, '../../..');
const SCANNED = ['src', 'activities', 'workflows', 'scripts', 'test'];
// Client and workflow calls whose first argument is a workflow or a message.
const CALLS = new Set([
  'start',
  'execute',
  'signalWithStart',
  'startChild',
  'executeChild',
  'signal',
  'query',
  'executeUpdate',
  'startUpdate',
  'executeUpdateWithStart',
  'startUpdateWithStart',
  'getExternalWorkflowHandle',
]);

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'fixtures') out.push(...tsFiles(p));
    } else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

export function stringNamedCalls(file: string, text: string): string[] {
  const found: string[] = [];
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && CALLS.has(node.expression.name.text)) {
      const first = node.arguments[0];
      if (first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first))) {
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        found.push(`${path.relative(ROOT, file)}:${line} .${node.expression.name.text}('${first.text}')`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('workflows and their messages are called through their definitions', () => {
  it('finds a string-named call (the guard works)', () => {
    const sample = "handle.signal('pause'); client.workflow.start('preAnnotation', { args: [] }); handle.query(progressQuery);";
    expect(stringNamedCalls('sample.ts', sample)).toEqual(["sample.ts:1 .signal('pause')", "sample.ts:1 .start('preAnnotation')"]);
  });

  it('no start, signal, query or update names its workflow or message by string', () => {
    const offenders = SCANNED.flatMap((dir) => tsFiles(path.join(ROOT, dir)))
      .filter((file) => file !== __filename)
      .flatMap((file) => stringNamedCalls(file, fs.readFileSync(file, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
