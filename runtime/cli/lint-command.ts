// `lifo4 lint FILE|DIR...`: the flow safety check (domain/flow-lint) on flows files, for
// CI and for an integrator before a deploy. A directory lints every *.json in it. Exit 1 when
// any file has an error (or cannot be read as a flow), 0 with warnings only.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parseFlow } from '../../domain/flow-lint/flow-schema';
import { lintFlow, type LintIssue } from '../../domain/flow-lint/lint';

export interface FileReport {
  file: string;
  /** Set when the file is not a readable flow. */
  error?: string;
  issues: readonly LintIssue[];
}

function expandPaths(paths: readonly string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p).filter((f) => f.endsWith('.json')).sort().map((f) => join(p, f))
      : [p],
  );
}

export function lintFiles(paths: readonly string[]): FileReport[] {
  return expandPaths(paths).map((file) => {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      return { file, error: err instanceof Error ? err.message : String(err), issues: [] };
    }
    const parsed = parseFlow(json);
    if (!parsed.ok) return { file, error: parsed.error, issues: [] };
    return { file, issues: lintFlow(parsed.flow, undefined, { env: process.env }).issues };
  });
}

/** The text `lifo4 lint` prints, and whether it fails. */
export function formatReports(reports: readonly FileReport[]): { text: string; failed: boolean } {
  const lines: string[] = [];
  let errors = 0;
  let warnings = 0;
  for (const r of reports) {
    if (r.error) {
      errors += 1;
      lines.push(`${r.file}: error: not a flow: ${r.error}`);
      continue;
    }
    for (const i of r.issues) {
      if (i.severity === 'error') errors += 1;
      else warnings += 1;
      lines.push(`${r.file}: ${i.severity} [${i.rule}] ${i.scope.join('/')}: ${i.message}`);
    }
    if (r.issues.length === 0) lines.push(`${r.file}: ok`);
  }
  lines.push(`${reports.length} file(s), ${errors} error(s), ${warnings} warning(s)`);
  return { text: lines.join('\n'), failed: errors > 0 };
}

export function addLintCommand(program: Command): void {
  program
    .command('lint')
    .description('check flows files (or directories of them) for paths that bypass safety-limits and the arbiter; exit 1 on errors')
    .argument('<paths...>', 'flows JSON files or directories')
    .option('--json', 'print the issues as JSON')
    .action((paths: string[], opts: { json?: boolean }) => {
      let reports: FileReport[];
      try {
        reports = lintFiles(paths);
      } catch (err) {
        console.error(`lifo4 lint: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      }
      const { text, failed } = formatReports(reports);
      console.log(opts.json ? JSON.stringify(reports, null, 2) : text);
      process.exit(failed ? 1 : 0);
    });
}
