// The very first start of a runtime with accounts (the cloud, the edge) when no user exists: a
// SUPER_ADMIN with a random password, printed once and stored nowhere but as its bcrypt hash. Its
// first login asks it to enrol 2FA. One function, so both runtimes behave alike.
import { randomBytes } from 'node:crypto';
import type { UserStore } from './users';

export const INITIAL_ADMIN_EMAIL = 'admin@localhost';

/** Creates the initial SUPER_ADMIN if there is no user; true when it did. */
export async function createFirstAdmin(users: UserStore, who: 'cloud' | 'edge', print: (line: string) => void): Promise<boolean> {
  if ((await users.count()) > 0) return false;
  const password = randomBytes(18).toString('base64url');
  try {
    await users.create({ email: INITIAL_ADMIN_EMAIL, password, role: 'SUPER_ADMIN' });
  } catch (err) {
    // Another process created the first user meanwhile: theirs stands.
    if ((await users.count()) > 0) return false;
    throw err;
  }
  const api = who === 'cloud' ? 'the API' : "the edge's API";
  print(
    [
      `lifo4 ${who}: first start, no user existed. Created the initial SUPER_ADMIN:`,
      `  email:    ${INITIAL_ADMIN_EMAIL}`,
      `  password: ${password}`,
      `This password is shown once and stored nowhere. Log in to ${api} (POST /api/v1/auth/login), enrol 2FA, ` +
        'and change it (POST /api/v1/auth/password); the editor then takes the password followed by the 6-digit code.',
    ].join('\n'),
  );
  return true;
}
