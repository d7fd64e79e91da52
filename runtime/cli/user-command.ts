// `lifo4 user add|list|set-role|reset-2fa`: user administration on the server itself, working on
// the cloud database directly: <dataDir>/cloud.db (also while the cloud runs: SQLite WAL with a busy
// timeout), or the PostgreSQL of --database-url / LIFO4_DATABASE_URL that the cloud processes share. It is
// the way in when nobody can log in any more, e.g. the only SUPER_ADMIN lost its phone. With
// --edge the same commands act on the edge's own accounts, <dataDir>/edge/accounts.db.
import { randomBytes } from 'node:crypto';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { ROLES, RoleSchema, SiteIdSchema } from '../../domain/contracts';
import { FIELDS, loadSettings } from '../../settings';
import type { UserStore } from '../api/users';

// Password rules of the API (passwords.ts), repeated here so `lifo4 --help` does not load bcrypt
// and SQLite: the modules that do are imported when a user command runs.
const PasswordSchema = z
  .string()
  .min(12, 'at least 12 characters')
  .refine((p) => Buffer.byteLength(p, 'utf8') <= 72, 'at most 72 bytes (bcrypt reads no further)');

interface Common {
  dataDir?: string;
  databaseUrl?: string;
  config?: string;
  edge?: boolean;
}

async function openUsers(o: Common): Promise<{ users: UserStore; close: () => Promise<void> }> {
  if (o.edge && o.databaseUrl !== undefined) throw new UserCommandError(`${FIELDS.databaseUrl.flag} is the cloud's database: the edge's accounts are in its data dir`);
  const config = o.config !== undefined ? { configFlag: o.config } : {};
  const dataDir = o.dataDir !== undefined ? { dataDir: o.dataDir } : {};
  const { cloudDatabase, openCloudDb } = await import('../cloud-db/cloud-db.js');
  const { openEdgeAccountsDb } = await import('../edge/accounts-db.js');
  const { UserStore } = await import('../api/users.js');
  let db;
  if (o.edge) db = await openEdgeAccountsDb(loadSettings('edge', { flags: dataDir, ...config }).dataDir);
  else {
    const settings = loadSettings('cloud', { flags: { ...dataDir, ...(o.databaseUrl !== undefined ? { databaseUrl: o.databaseUrl } : {}) }, ...config });
    db = await openCloudDb(cloudDatabase(settings));
  }
  return { users: new UserStore(db), close: () => db.close() };
}

function check<T>(schema: z.ZodType<T>, value: unknown, flag: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new UserCommandError(`${flag}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export class UserCommandError extends Error {
  override readonly name = 'UserCommandError';
}

/** --database-url of the cloud commands that work on the cloud database directly (lifo4 user, lifo4 site). */
export function databaseUrlOption(): Option {
  return new Option(`${FIELDS.databaseUrl.flag} <${FIELDS.databaseUrl.arg}>`, `${FIELDS.databaseUrl.describe} (env ${FIELDS.databaseUrl.env})`);
}

function withCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option(`${FIELDS.dataDir.flag} <${FIELDS.dataDir.arg}>`, `${FIELDS.dataDir.describe} (env ${FIELDS.dataDir.env}, default ${String(FIELDS.dataDir.default)})`))
    .addOption(databaseUrlOption())
    .addOption(new Option('--config <FILE>', 'JSON file of settings (env LIFO4_CONFIG)'))
    .addOption(new Option('--edge', "the edge's accounts (<data-dir>/edge/accounts.db: its editor and /nodes) instead of the cloud's"));
}

async function act(f: () => Promise<void> | void): Promise<void> {
  try {
    await f();
  } catch (err) {
    // ApiError (a duplicate email, an unknown organisation or site) and SettingsError are the user's to fix.
    if (err instanceof UserCommandError || (err instanceof Error && (err.name === 'ApiError' || err.name === 'SettingsError'))) {
      console.error(`lifo4 user: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
}

/** Adds `user` and its subcommands to the lifo4 program. */
export function addUserCommand(program: Command): Command {
  const user = program.command('user').description("manage API and editor users in <data-dir>/cloud.db, or with --edge the edge's in <data-dir>/edge/accounts.db");

  withCommon(user.command('add').description('create a user (password generated and printed once when --password is omitted)'))
    .requiredOption('--email <EMAIL>', 'login email')
    .addOption(new Option('--role <ROLE>', 'role').choices([...ROLES]).makeOptionMandatory())
    .option('--password <PASSWORD>', 'password, 12 to 72 bytes (visible in the process list: prefer omitting it)')
    .option('--org <ORG>', 'organisation id (default: the default organisation)')
    .option('--sites <IDS>', 'comma-separated site ids assigned to the user (role USER sees only these)')
    .action((o: Common & { email: string; role: string; password?: string; org?: string; sites?: string }) =>
      act(async () => {
        const email = check(z.string().max(254).regex(/^[^\s@]{1,64}@[^\s@]{1,189}$/, 'an email address (name@domain)'), o.email, '--email');
        const role = check(RoleSchema, o.role, '--role');
        const generated = o.password === undefined;
        const password = check(PasswordSchema, o.password ?? randomBytes(18).toString('base64url'), '--password');
        const siteIds = o.sites ? check(z.array(SiteIdSchema), o.sites.split(',').map((s) => s.trim()).filter(Boolean), '--sites') : undefined;
        const { users, close } = await openUsers(o);
        try {
          const row = await users.create({ email, password, role, orgId: o.org, siteIds });
          console.log(`created ${row.email} (${row.role}, organisation ${row.org_id}, id ${row.id})`);
          if (generated) console.log(`password: ${password}\n(shown once, stored nowhere)`);
        } finally {
          await close();
        }
      }),
    );

  withCommon(user.command('list').description('list users'))
    .option('--json', 'print JSON')
    .action((o: Common & { json?: boolean }) =>
      act(async () => {
        const { users, close } = await openUsers(o);
        try {
          const list = await users.list(null);
          if (o.json) console.log(JSON.stringify(list, null, 2));
          else for (const u of list) console.log(`${u.email}\t${u.role}\t${u.orgId}\t2fa=${u.twoFactor ? 'yes' : 'no'}${u.disabled ? '\tdisabled' : ''}`);
        } finally {
          await close();
        }
      }),
    );

  withCommon(user.command('set-role').description("change a user's role (its sessions end)"))
    .requiredOption('--email <EMAIL>', 'login email')
    .addOption(new Option('--role <ROLE>', 'new role').choices([...ROLES]).makeOptionMandatory())
    .action((o: Common & { email: string; role: string }) =>
      act(async () => {
        const role = check(RoleSchema, o.role, '--role');
        const { users, close } = await openUsers(o);
        try {
          const row = await users.byEmail(o.email);
          if (!row) throw new UserCommandError(`no user ${o.email}`);
          await users.setRole(row.id, role);
          console.log(`${row.email}: ${row.role} -> ${role}`);
        } finally {
          await close();
        }
      }),
    );

  withCommon(user.command('reset-2fa').description("remove a user's TOTP and recovery codes (enrols again at next login)"))
    .requiredOption('--email <EMAIL>', 'login email')
    .action((o: Common & { email: string }) =>
      act(async () => {
        const { users, close } = await openUsers(o);
        try {
          const row = await users.byEmail(o.email);
          if (!row) throw new UserCommandError(`no user ${o.email}`);
          await users.resetTwoFactor(row.id);
          console.log(`${row.email}: 2FA removed; the next login enrols it again`);
        } finally {
          await close();
        }
      }),
    );
  return user;
}
