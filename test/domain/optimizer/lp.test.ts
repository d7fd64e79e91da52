import assert from 'node:assert/strict';
import { LpError, solveLp, toLpText, type LpModel } from '../../../domain/optimizer/lp';

describe('LP models solved by HiGHS', () => {
  it('solves a small maximisation to its hand-checked optimum', async () => {
    // max x + 2y, x + y <= 4, 0 <= x <= 3, 0 <= y <= 2: y = 2, x = 2, objective 6.
    const m: LpModel = {
      sense: 'maximize',
      variables: [{ name: 'x', ub: 3, cost: 1 }, { name: 'y', ub: 2, cost: 2 }],
      constraints: [{ name: 'cap', terms: [['x', 1], ['y', 1]], ub: 4 }],
    };
    const s = await solveLp(m);
    assert.equal(s.optimal, true);
    assert.equal(s.objective, 6);
    assert.equal(s.values.get('x'), 2);
    assert.equal(s.values.get('y'), 2);
  });

  it('writes equalities, ranges, free variables and tiny coefficients without exponents', () => {
    const text = toLpText({
      sense: 'minimize',
      variables: [{ name: 'a', lb: Number.NEGATIVE_INFINITY, cost: 1e-9 }, { name: 'b', lb: -5, ub: 5 }],
      constraints: [{ name: 'eq', terms: [['a', 1], ['b', -2]], lb: 1, ub: 1 }, { name: 'rng', terms: [['b', 1]], lb: -1, ub: 2 }],
    });
    assert.match(text, /eq: \+ 1 a - 2 b = 1/);
    assert.match(text, /rng_lo: \+ 1 b >= -1/);
    assert.match(text, /rng_hi: \+ 1 b <= 2/);
    assert.match(text, /-inf <= a <= \+inf/);
    assert.doesNotMatch(text, /e-/);
  });

  it('reports an infeasible model as not optimal, without values', async () => {
    const s = await solveLp({ sense: 'minimize', variables: [{ name: 'x', ub: 1 }], constraints: [{ name: 'c', terms: [['x', 1]], lb: 2 }] });
    assert.equal(s.optimal, false);
    assert.equal(s.values.size, 0);
  });

  it('refuses unknown variables and bad names with a clear error', () => {
    assert.throws(() => toLpText({ sense: 'minimize', variables: [{ name: 'x' }], constraints: [{ name: 'c', terms: [['y', 1]], ub: 1 }] }), LpError);
    assert.throws(() => toLpText({ sense: 'minimize', variables: [{ name: 'bad name' }], constraints: [] }), /bad variable name/);
  });
});
