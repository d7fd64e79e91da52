// Handlers of the OTA routes. Everything but provisioning needs ota:deploy (SUPER_ADMIN);
// every change is audited by the router; provisioning is public (the claim token is the
// credential) and writes its own audit rows, since no user stands behind it.
import { RolloutError, type RolloutConfigInput } from '../ota/rollout';
import { ProvisioningError } from '../ota/provisioning';
import { revokeSite } from '../ota/revocations';
import type { OtaCloud } from '../ota/ota-cloud';
import { DEFAULT_ORG_ID } from '../cloud-db/cloud-db';
import { ApiError, conflict, notFound, unavailable } from './errors';
import type { Handlers, Services } from './services';

type OtaRoutes =
  | 'otaBundles' | 'otaDeployments' | 'otaCreateDeployment' | 'otaDeployment' | 'otaPause' | 'otaResume' | 'otaAbort'
  | 'otaCreateClaim' | 'otaAllowSerials' | 'otaProvision' | 'otaRenew' | 'revokeSite';

function rolloutError(err: unknown): never {
  if (err instanceof RolloutError) throw err.code === 'not_found' ? notFound(err.message.replace(/^no /, '')) : conflict(err.message);
  throw err;
}

export function otaHandlers(s: Services, ota: OtaCloud): Pick<Handlers, OtaRoutes> {
  return {
    otaBundles: () => ({ body: { bundles: ota.bundles() } }),

    otaDeployments: async () => ({ body: { deployments: await ota.rollouts.list() } }),

    async otaCreateDeployment({ body, principal }) {
      const manifest = ota.bundle(body.version);
      if (!manifest) throw notFound(`bundle ${body.version}`);
      if (!ota.canNotify) throw unavailable('the cloud has no MQTT connection to notify sites');
      const config: RolloutConfigInput = {
        ...(body.stages ? { stages: body.stages } : {}),
        ...(body.stageHours !== undefined ? { stageMs: Math.round(body.stageHours * 3_600_000) } : {}),
        ...(body.successShare !== undefined ? { successShare: body.successShare } : {}),
        ...(body.failureShare !== undefined ? { failureShare: body.failureShare } : {}),
        ...(body.minSites !== undefined ? { minSites: body.minSites } : {}),
        ...(body.silentMinutes !== undefined ? { silentMs: Math.round(body.silentMinutes * 60_000) } : {}),
      };
      let view;
      try {
        view = await ota.rollouts.create({ version: manifest.version, sequence: manifest.sequence, url: ota.bundleUrl(manifest.version), siteIds: body.siteIds, config, by: principal.email });
      } catch (err) {
        if (err instanceof Error && err.name === 'ZodError') throw new ApiError(400, 'invalid_request', `roll-out settings: ${err.message}`);
        rolloutError(err);
      }
      for (const id of body.siteIds) await s.sites.ensure(id);
      return { status: 201, body: view, audit: { target: view.id, details: { version: view.version, sites: body.siteIds.length, stages: view.config.stages } } };
    },

    async otaDeployment({ params }) {
      const d = await ota.rollouts.get(params.id);
      if (!d) throw notFound(`deployment ${params.id}`);
      return { body: { ...d, targets: await ota.rollouts.targets(params.id) } };
    },

    async otaPause({ params, body }) {
      try {
        return { body: await ota.rollouts.pause(params.id, body.reason ?? 'paused by an operator') };
      } catch (err) {
        return rolloutError(err);
      }
    },
    async otaResume({ params }) {
      try {
        return { body: await ota.rollouts.resume(params.id) };
      } catch (err) {
        return rolloutError(err);
      }
    },
    async otaAbort({ params }) {
      try {
        return { body: await ota.rollouts.abort(params.id) };
      } catch (err) {
        return rolloutError(err);
      }
    },

    async otaCreateClaim({ body, principal }) {
      // The claim decides the site's organisation (provisioning moves it there): by default the one
      // it is registered in, else the default one. An unknown id is registered only at provisioning.
      const orgId = body.orgId ?? (await s.sites.get(body.siteId))?.org_id ?? DEFAULT_ORG_ID;
      if (!(await s.users.orgExists(orgId))) throw notFound(`organisation ${orgId}`);
      const claim = await ota.provisioning.createClaim(body.siteId, Math.round((body.ttlHours ?? 72) * 3_600_000), principal.email, orgId);
      // The token is in the answer only, never in the audit log.
      return { status: 201, body: { siteId: body.siteId, token: claim.token, expiresAt: new Date(claim.expiresAt).toISOString() }, audit: { target: body.siteId } };
    },

    // An ADMIN revokes a site of their organisation (the route's scope), a SUPER_ADMIN any site.
    async revokeSite({ params, body, principal }) {
      const certificates = await revokeSite(s.db, params.id, principal.email, body.reason ?? null);
      return { body: { siteId: params.id, revokedCertificates: certificates }, audit: { target: params.id, details: { certificates, reason: body.reason ?? null } } };
    },

    async otaAllowSerials({ body }) {
      const added = await ota.provisioning.allowSerials(body.serials, body.note);
      return { body: { added, serials: body.serials.length }, audit: { details: { added, serials: body.serials.slice(0, 20) } } };
    },

    async otaRenew({ body, ip }) {
      try {
        const r = await ota.provisioning.renew(body);
        await s.audit.write({ action: 'otaRenew', ip, target: r.siteId, outcome: 'success', status: 200, details: { serial: r.deviceSerial } });
        return { body: { certificate: r.certificate, caChain: r.caChain } };
      } catch (err) {
        if (err instanceof ProvisioningError) {
          await s.audit.write({ action: 'otaRenew', ip, outcome: err.status === 400 ? 'failure' : 'denied', status: err.status, details: { error: err.code } });
          throw new ApiError(err.status, err.code, err.message);
        }
        throw err;
      }
    },

    async otaProvision({ body, ip }) {
      try {
        const r = await ota.provisioning.provision(body);
        await s.audit.write({ action: 'otaProvision', ip, target: r.siteId, outcome: 'success', status: 200, details: { serial: r.serial } });
        const { serial: _serial, ...answer } = r;
        return { body: answer };
      } catch (err) {
        if (err instanceof ProvisioningError) {
          await s.audit.write({ action: 'otaProvision', ip, outcome: err.status === 400 ? 'failure' : 'denied', status: err.status, details: { error: err.code } });
          throw new ApiError(err.status, err.code, err.message);
        }
        throw err;
      }
    },
  };
}
