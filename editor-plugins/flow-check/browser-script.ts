// The flow safety check (domain/flow-lint, compiled to CommonJS) as one browser script.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The compiled CommonJS files of the check, in dependency order; each requires only './x'. */
const MODULES = ['roles', 'graph', 'lint'];
const LINT_DIR = join(__dirname, '..', '..', 'domain', 'flow-lint');

/**
 * The check as one browser script defining window.lifo4FlowLint: each compiled module wrapped in
 * a function with its own module/exports and a require that resolves the sibling modules.
 */
export function flowLintBrowserScript(): string {
  const defs = MODULES.map((name) => {
    const code = readFileSync(join(LINT_DIR, `${name}.js`), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
    return `defs['./${name}'] = function (module, exports, require) {\n${code}\n};`;
  });
  return [
    '(function () {',
    '  var defs = {}; var cache = {};',
    ...defs,
    "  function req(name) { name = name.replace(/\\.js$/, ''); if (!cache[name]) { var m = { exports: {} }; cache[name] = m; defs[name](m, m.exports, req); } return cache[name].exports; }",
    "  window.lifo4FlowLint = req('./lint');",
    '})();',
  ].join('\n');
}

