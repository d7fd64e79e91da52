// Command signatures: HMAC-SHA256 over the canonical JSON of every field but sig.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ROLES, SignedCommandSchema, type SignedCommand } from '../../domain/contracts';
import { canonicalJson, parseKey, signCommand, verifyCommand, type UnsignedCommand } from '../../io/command-signature';

const key = parseKey('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
const otherKey = parseKey(Buffer.alloc(32, 7).toString('base64'));

const idChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-');
const body = fc.oneof(
  fc.record({ type: fc.constant('setpoint' as const), powerW: fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), durationS: fc.integer({ min: 1, max: 86_400 }) }),
  fc.record({ type: fc.constant('mode' as const), mode: fc.constantFrom('auto' as const, 'standby' as const), durationS: fc.option(fc.integer({ min: 1, max: 86_400 }), { nil: undefined }) }),
  fc.record({ type: fc.constant('estop' as const) }),
  fc.record({ type: fc.constant('reset' as const) }),
);
const command: fc.Arbitrary<UnsignedCommand> = fc.record({
  v: fc.constant(1 as const),
  id: fc.string({ unit: idChars, minLength: 8, maxLength: 40 }),
  siteId: fc.string({ unit: idChars, minLength: 1, maxLength: 20 }),
  issuedAt: fc.integer({ min: 0, max: 2 ** 42 }),
  expiresAt: fc.integer({ min: 0, max: 2 ** 42 }),
  by: fc.string({ minLength: 1, maxLength: 30 }),
  role: fc.constantFrom(...ROLES),
  body,
});

type Json = string | number | boolean | null | undefined | Json[] | { [k: string]: Json };

/** Every path to a leaf of `v`, except sig. */
function leafPaths(v: Json, prefix: string[] = []): string[][] {
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, c]) => (k === 'sig' ? [] : leafPaths(c as Json, [...prefix, k])));
  return [prefix];
}

/** A copy of `cmd` with the leaf at `path` changed to a different value of the same type. */
function mutate(cmd: SignedCommand, path: string[]): SignedCommand {
  const copy = structuredClone(cmd) as unknown as Record<string, Json>;
  let parent = copy as Record<string, Json>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string, Json>;
  const last = path.at(-1)!;
  const old = parent[last];
  parent[last] = typeof old === 'number' ? (old === 0 ? 1 : old * 2 + 1) : typeof old === 'string' ? `${old}x` : typeof old === 'boolean' ? !old : 1;
  return copy as unknown as SignedCommand;
}

describe('command signatures (HMAC-SHA256 over canonical JSON)', () => {
  it('verifies what it signed, and the signed command passes the contract', () => {
    fc.assert(fc.property(command, (c) => {
      const signed = signCommand(c, key);
      assert.ok(verifyCommand(signed, key));
      assert.match(signed.sig, /^[0-9a-f]{64}$/);
      assert.ok(SignedCommandSchema.safeParse(signed).success);
    }));
  });

  it('rejects a command when any one field is changed', () => {
    fc.assert(fc.property(command, fc.nat(), (c, pick) => {
      const signed = signCommand(c, key);
      const paths = leafPaths(signed as unknown as Json);
      const path = paths[pick % paths.length]!;
      assert.equal(verifyCommand(mutate(signed, path), key), false, `changed ${path.join('.')}`);
    }));
  });

  it('rejects a command with a field added or removed', () => {
    fc.assert(fc.property(command, (c) => {
      const signed = signCommand(c, key);
      assert.equal(verifyCommand({ ...signed, body: { ...signed.body, extra: 1 } as unknown as SignedCommand['body'] }, key), false);
      const { by: _by, ...withoutBy } = signed;
      assert.equal(verifyCommand(withoutBy as SignedCommand, key), false);
    }));
  });

  it('rejects a signature made with another key, and a forged or garbled sig', () => {
    fc.assert(fc.property(command, fc.string({ maxLength: 80 }), (c, junk) => {
      const signed = signCommand(c, key);
      assert.equal(verifyCommand(signCommand(c, otherKey), key), false);
      if (junk !== signed.sig) assert.equal(verifyCommand({ ...signed, sig: junk }, key), false);
      assert.equal(verifyCommand({ ...signed, sig: signed.sig.toUpperCase() === signed.sig ? 'x' : signed.sig.toUpperCase() }, key), false);
    }));
  });

  it('does not depend on the order of object keys', () => {
    fc.assert(fc.property(command, (c) => {
      const reversed = Object.fromEntries(Object.entries(c).reverse()) as UnsignedCommand;
      assert.equal(signCommand(reversed, key).sig, signCommand(c, key).sig);
    }));
  });

  it('writes canonical JSON with sorted keys at every depth and no undefined members', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: undefined, b: true } }), '{"a":{"b":true,"d":[1,"x",null]},"b":1}');
    assert.throws(() => canonicalJson({ a: Number.NaN }));
  });

  it('takes keys as hex or base64 and refuses short ones', () => {
    assert.equal(parseKey('00'.repeat(32)).length, 32);
    assert.equal(parseKey(Buffer.alloc(24, 1).toString('base64')).length, 24);
    assert.throws(() => parseKey('abcd'), /at least 16/);
    assert.throws(() => parseKey('not a key!'), /hex or base64/);
  });
});
