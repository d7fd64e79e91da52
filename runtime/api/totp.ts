// TOTP second factor (RFC 6238 through otplib 13: SHA-1, 6 digits, 30 s steps, what every
// authenticator app speaks), one-time recovery codes, and the sealing of TOTP secrets at rest.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

export const TOTP_ISSUER = 'LiFePO4 EMS';
/** One step either side: the phone's clock may be 30 s off (RFC 6238 section 5.2). */
const TOLERANCE_S = 30;
export const RECOVERY_CODE_COUNT = 10;

export interface Enrolment {
  secret: string;
  otpauthUri: string;
  qrSvg: string;
}

export async function newEnrolment(email: string): Promise<Enrolment> {
  const secret = generateSecret();
  const otpauthUri = generateURI({ issuer: TOTP_ISSUER, label: email, secret });
  const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { secret, otpauthUri, qrSvg };
}

/**
 * Checks a code; returns its time step when valid and later than `afterStep`, else null. Keeping
 * the last accepted step per user makes every code usable once (RFC 6238 section 5.2: "the
 * verifier MUST NOT accept the second attempt of the OTP after the successful validation").
 */
export async function checkTotp(secret: string, code: string, afterStep: number): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const r = await verify({ secret, token: code, epochTolerance: TOLERANCE_S, afterTimeStep: afterStep });
  return r.valid && 'timeStep' in r && typeof r.timeStep === 'number' ? r.timeStep : null;
}

/** Recovery codes: 10 groups of 5+5 characters of a 32-letter alphabet (50 bits each). */
export function newRecoveryCodes(): string[] {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i: read aloud and typed by hand
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(10);
    const chars = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/**
 * Recovery codes are random with 50 bits each, so a fast hash is enough (a slow one protects
 * guessable secrets like passwords); normalised so case and a missing dash do not matter.
 */
export function hashRecoveryCode(code: string): string {
  const normal = code.toLowerCase().replace(/[^a-z0-9]/g, '');
  return createHash('sha256').update(`lifo4-recovery:${normal}`).digest('hex');
}

/**
 * AES-256-GCM sealing of TOTP secrets in cloud.db, so a copy of the database alone does not give
 * away the second factor. The key comes from secrets.json: `totpKey` when present, else derived
 * from jwtSecret with HKDF (then rotating jwtSecret means every user enrols again).
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(keyMaterial: string) {
    this.#key = Buffer.from(hkdfSync('sha256', keyMaterial, 'lifo4-totp', 'totp secrets at rest', 32));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const [v, iv, tag, data] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || data === undefined) throw new Error('sealed secret: unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}
