// `lifo4 agent`: the edge agent (runtime/ota/edge-agent.ts). It provisions the device on first
// start when it holds only a claim token, then takes OTA notices and supervises the runtime of the
// `current` release. systemd runs it as edge-image/lifo4-agent.service.
//
// Provisioning trusts only what the device already holds: the fleet signing public key and the fleet
// CA certificate, shipped in <dir>/trust/ (fleet-signing.pub, ca.crt) or given with --trust-key and
// --ca; the cloud's answer must match them (runtime/ota/provisioning-client.ts). http provisioning and
// mqtt:// brokers need --insecure-provisioning, for a lab. `lifo4 start` never provisions: it hands
// its agent the trusted key from the shared data dir with --fleet-key, on one machine.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { CONFIG_ERROR_EXIT } from '../../settings';

interface AgentFlags {
  dir: string;
  siteId?: string;
  fleetKey?: string;
  trustKey?: string;
  ca?: string;
  insecureProvisioning?: boolean;
  mqttUrl?: string;
  mqttUsername?: string;
  mqttPasswordFile?: string;
  mqttCa?: string;
  mqttCert?: string;
  mqttKey?: string;
  healthWindowS: string;
  maxStartAttempts: string;
  provisionUrl?: string;
  claimToken?: string;
  serial?: string;
  data?: string;
  install?: string;
}

export function addAgentCommand(program: Command): Command {
  return program
    .command('agent')
    .description('edge agent: provisioning, signed OTA updates with rollback, and supervision of the edge runtime')
    .addOption(new Option('--dir <DIR>', 'agent folder: releases, current/previous links, state.json, data').env('LIFO4_AGENT_DIR').default('/var/lib/lifo4'))
    .addOption(new Option('--site-id <ID>', 'site id (default: the one assigned at provisioning)').env('LIFO4_SITE_ID'))
    .addOption(new Option('--trust-key <FILE>', 'fleet signing public key the device trusts (default <dir>/trust/fleet-signing.pub, then the one kept at provisioning)').env('LIFO4_TRUST_KEY'))
    .addOption(new Option('--fleet-key <FILE>', 'same as --trust-key').hideHelp())
    .addOption(new Option('--ca <FILE>', 'fleet CA certificate the device trusts for provisioning (default <dir>/trust/ca.crt)').env('LIFO4_TRUST_CA'))
    .addOption(new Option('--insecure-provisioning', 'LAB ONLY: allow an http provisioning URL and an mqtt:// broker, and adopt the CA the cloud sends when none is trusted'))
    .addOption(new Option('--mqtt-url <URL>', 'broker (default: the one assigned at provisioning)').env('LIFO4_MQTT_URL'))
    .addOption(new Option('--mqtt-username <NAME>', 'MQTT username (default: the site id)'))
    .addOption(new Option('--mqtt-password-file <FILE>', 'file holding the MQTT password (or env LIFO4_AGENT_MQTT_PASSWORD)'))
    .addOption(new Option('--mqtt-ca <FILE>', 'CA certificate (PEM) of the broker'))
    .addOption(new Option('--mqtt-cert <FILE>', 'client certificate (PEM) for mTLS'))
    .addOption(new Option('--mqtt-key <FILE>', 'client key (PEM) for mTLS'))
    .addOption(new Option('--health-window-s <S>', 'health window of a new release, seconds').default('300'))
    .addOption(new Option('--max-start-attempts <N>', 'start attempts of an uncommitted release before rollback').default('3'))
    .addOption(new Option('--provision-url <URL>', 'cloud API base for zero-touch provisioning, e.g. https://cloud/api/v1').env('LIFO4_PROVISION_URL'))
    .addOption(new Option('--claim-token <TOKEN>', 'claim token for provisioning (prefer the file <dir>/claim-token)').env('LIFO4_CLAIM_TOKEN'))
    .addOption(new Option('--serial <SERIAL>', 'device serial for provisioning (default /etc/machine-id)').env('LIFO4_SERIAL'))
    .addOption(new Option('--data <DIR>', 'persistent data folder of the runtime (default <dir>/data)'))
    .addOption(new Option('--install <BUNDLE>', 'factory install: a bundle folder installed and committed when no release is installed yet'))
    .action(async (o: AgentFlags) => {
      const [{ EdgeAgent, AGENT_STEPS }, { readPublicKey }, { readIdentity, provisionDevice, identityDir, renewCertificate }] = await Promise.all([
        import('../ota/edge-agent.js'), import('../ota/signing-key.js'), import('../ota/provisioning-client.js'),
      ]);
      const dir = resolve(o.dir);
      const insecure = o.insecureProvisioning === true;
      if (insecure) {
        console.error('lifo4 agent: WARNING: --insecure-provisioning: provisioning and certificate renewal may run over plain http and the broker over plain mqtt; anyone on the path can read and change them. Lab use only.');
      }
      const shipped = (name: string) => (existsSync(join(dir, 'trust', name)) ? join(dir, 'trust', name) : undefined);
      const trustKeyFile = o.trustKey ?? o.fleetKey;
      let identity = readIdentity(dir);
      let firstBundle: import('../ota/messages').OtaNotice | null = null;
      if (!identity && o.provisionUrl !== undefined) {
        const claim = o.claimToken ?? (existsSync(join(dir, 'claim-token')) ? readFileSync(join(dir, 'claim-token'), 'utf8').trim() : undefined);
        if (!claim) throw new Error('provisioning needs --claim-token or <dir>/claim-token');
        const serial = o.serial ?? readFileSync('/etc/machine-id', 'utf8').trim();
        const keyFile = trustKeyFile ?? shipped('fleet-signing.pub');
        if (keyFile === undefined) throw new Error('provisioning needs the fleet signing public key the device trusts: --trust-key FILE or <dir>/trust/fleet-signing.pub');
        const caFile = o.ca ?? shipped('ca.crt');
        const provisioned = await provisionDevice({
          dir, apiUrl: o.provisionUrl, claimToken: claim, serial, insecure,
          fleetKeyPem: readPublicKey(readFileSync(keyFile)).export({ type: 'spki', format: 'pem' }).toString(),
          ...(caFile !== undefined ? { caPem: readFileSync(caFile, 'utf8') } : {}),
        });
        identity = provisioned;
        firstBundle = provisioned.bundle;
        console.log(`lifo4 agent: provisioned as site ${identity.siteId}`);
      }
      const siteId = o.siteId ?? identity?.siteId;
      if (!siteId) throw new Error('no site id: pass --site-id or provision with --provision-url and a claim token');
      const keyFile = trustKeyFile ?? (identity ? join(identityDir(dir), 'fleet-signing.pub') : shipped('fleet-signing.pub'));
      if (keyFile === undefined) throw new Error('no fleet signing key to check updates with: --trust-key FILE, <dir>/trust/fleet-signing.pub, or provisioning');
      const fleetKey = readPublicKey(readFileSync(keyFile));
      const url = o.mqttUrl ?? identity?.mqttUrl;
      const read = (f: string | undefined) => (f !== undefined ? readFileSync(f) : undefined);
      const ca = read(o.mqttCa) ?? (identity ? readFileSync(join(identityDir(dir), 'ca.crt')) : undefined);
      const cert = read(o.mqttCert) ?? (identity ? readFileSync(join(identityDir(dir), 'client.crt')) : undefined);
      const key = read(o.mqttKey) ?? (identity ? readFileSync(join(identityDir(dir), 'client.key')) : undefined);
      // The password comes from a file or the environment, never the command line (ps shows that);
      // the runtime the agent starts does not inherit it.
      const envPassword = process.env.LIFO4_AGENT_MQTT_PASSWORD;
      delete process.env.LIFO4_AGENT_MQTT_PASSWORD;
      const password = o.mqttPasswordFile !== undefined ? readFileSync(o.mqttPasswordFile, 'utf8').trim() : envPassword;
      const mqttOptions = {
        username: o.mqttUsername ?? siteId,
        ...(password !== undefined ? { password } : {}),
        ...(url?.startsWith('mqtts:') ? { ca, cert, key } : {}),
      };
      const windowS = Number(o.healthWindowS);
      const attempts = Number(o.maxStartAttempts);
      if (!(windowS > 0 && windowS <= 86_400)) throw new Error('--health-window-s must be a number of seconds from 0 to 86400');
      if (!(Number.isInteger(attempts) && attempts >= 1 && attempts <= 100)) throw new Error('--max-start-attempts must be a whole number from 1 to 100');
      const killAt = process.env.LIFO4_OTA_KILL_AT || undefined;
      if (killAt !== undefined && !(AGENT_STEPS as readonly string[]).includes(killAt)) throw new Error(`LIFO4_OTA_KILL_AT must be one of ${AGENT_STEPS.join(', ')}`);
      const agent = new EdgeAgent({
        dir, siteId, fleetKey,
        mqtt: url !== undefined ? { url, options: mqttOptions } : null,
        healthWindowMs: windowS * 1000,
        maxStartAttempts: attempts,
        ...(ca !== undefined ? { downloadCa: ca } : {}),
        killAt: (killAt as (typeof AGENT_STEPS)[number] | undefined) ?? null,
        ...(o.data !== undefined ? { dataDir: resolve(o.data) } : {}),
        // A supervisor above the agent (`lifo4 start`) hears the runtime's ready message through it.
        onRuntimeMessage: (m: unknown) => {
          if (process.send && process.connected) process.send(m);
        },
      });
      // The device certificate is renewed before it ends, where it was provisioned; the new one is
      // used from a new connection. A failed renewal is retried; the old certificate stays valid.
      const renewUrl = o.provisionUrl ?? identity?.apiUrl;
      const renew = async (): Promise<void> => {
        if (renewUrl === undefined || !url?.startsWith('mqtts:') || o.mqttCert !== undefined) return;
        try {
          if (await renewCertificate({ dir, apiUrl: renewUrl, insecure })) {
            console.log('lifo4 agent: device certificate renewed');
            await agent.reconnectMqtt({ cert: readFileSync(join(identityDir(dir), 'client.crt')) });
          }
        } catch (err) {
          console.error(`lifo4 agent: certificate renewal: ${err instanceof Error ? err.message : String(err)}`);
        }
      };
      const renewTimer = setInterval(() => void renew(), 12 * 3_600_000);
      renewTimer.unref();
      if (o.install !== undefined) await agent.installLocal(resolve(o.install));
      // The committed runtime stopped on a configuration error: so does the agent, with the same
      // exit code, so that its supervisor (systemd, `lifo4 start`) shows the runtime's message.
      let exitCode = 0;
      agent.once('runtime-config-error', () => {
        exitCode = CONFIG_ERROR_EXIT;
        process.kill(process.pid, 'SIGTERM');
      });
      await agent.start();
      await renew();
      // The first bundle installs through the same OTA path as every later one.
      if (firstBundle) agent.acceptNotice(firstBundle);
      await new Promise<void>((done) => {
        let stopping = false;
        const stop = () => {
          if (stopping) return;
          stopping = true;
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          clearInterval(renewTimer);
          void agent.stop().then(done);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
        // Under a supervisor that died without telling us: do not live on as an orphan.
        if (process.send) process.once('disconnect', stop);
      });
      if (exitCode !== 0) process.exit(exitCode);
    });
}
