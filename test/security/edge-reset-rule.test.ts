// One rule for who may release an e-stop, on the edge as in the cloud: the permission table's
// commands:reset. The edge's operator-command and the cloud API both ask mayReset.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromOperatorCommand, mayReset, RESET_ROLES } from '../../domain/arbiter/operator';
import { hasPermission, rolesWith } from '../../domain/permissions';
import { ROLES } from '../../domain/roles';

describe('security: who may reset an e-stop', () => {
  it('is TECHNICIAN and above, the roles holding commands:reset; an OPERATOR may stop but not release', () => {
    assert.deepEqual(RESET_ROLES, ['SUPER_ADMIN', 'ADMIN', 'MANAGER', 'TECHNICIAN']);
    assert.deepEqual(RESET_ROLES, rolesWith('commands:reset'));
    assert.equal(mayReset('OPERATOR'), false);
    assert.equal(fromOperatorCommand({ type: 'estop', by: 'op', role: 'OPERATOR' }, 0).kind, 'safety');
  });

  it('accepts a reset exactly when the role holds commands:reset, and never without a role', () => {
    fc.assert(
      fc.property(fc.option(fc.constantFrom(...ROLES), { nil: undefined }), fc.string({ minLength: 1, maxLength: 20 }), (role, by) => {
        const outcome = fromOperatorCommand({ type: 'reset', by, ...(role ? { role } : {}) }, 0);
        const allowed = role !== undefined && hasPermission(role, 'commands:reset');
        assert.equal(outcome.kind, allowed ? 'safety' : 'rejected');
        assert.equal(mayReset(role), allowed);
      }),
    );
  });
});
