// The flow safety check (domain/flow-lint, compiled to CommonJS) as one browser script.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The compiled CommonJS files of the check, by the name they are required with from domain/flow-lint. */
const MODULES: Record<string, string> = {
  './roles': 'flow-lint/roles',
  './graph': 'flow-lint/graph',
  './lint': 'flow-lint/lint',
  '../sunspec/profile-timeout': 'sunspec/profile-timeout',
};
const DOMAIN_DIR = join(__dirname, '..', '..', 'domain');

/**
 * The check as one browser script defining window.lifo4FlowLint: each compiled module wrapped in
 * a function with its own module/exports and a require that resolves the sibling modules.
 */
export function flowLintBrowserScript(): string {
  const defs = Object.entries(MODULES).map(([name, file]) => {
    const code = readFileSync(join(DOMAIN_DIR, `${file}.js`), 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
    return `defs['${name}'] = function (module, exports, require) {\n${code}\n};`;
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

