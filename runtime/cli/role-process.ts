// Runs one role (sim, edge or cloud) in this process until SIGINT or SIGTERM, then stops it
// within the supervisor's 5 s budget.
import type { CloudSettings, EdgeSettings, SimSettings } from '../../settings';
import { hostPort, SettingsError } from '../../settings';
import { profileFamilies } from '../../io/profile-library';
import { reportReady } from '../supervisor/ready-message';

/** Stop budget of one process; the supervisor SIGKILLs a child still alive after 4 s. */
const STOP_TIMEOUT_MS = 3800;

interface Running {
  stop(): Promise<void>;
}

function stopOnSignals(running: Running, role: string): void {
  let stopping = false;
  const shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${role} stopping (${why})`);
    const timer = setTimeout(() => {
      console.error(`${role} did not stop within ${STOP_TIMEOUT_MS} ms; exiting anyway`);
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    timer.unref();
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`${role} stop failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // The supervisor died without telling us: do not live on as an orphan holding the ports.
  if (process.send) process.on('disconnect', () => shutdown('supervisor gone'));
}

export async function runSim(settings: SimSettings): Promise<void> {
  const { startSimulator } = await import('../simulator/index.js');
  if (settings.simProfile !== undefined && !profileFamilies().includes(settings.simProfile)) {
    throw new SettingsError('--profile', `no profile family '${settings.simProfile}' in the library; there are: ${profileFamilies().join(', ')}`);
  }
  const sim = await startSimulator({
    host: settings.simHost,
    controlHost: settings.controlHost,
    modbusPort: settings.modbusPort,
    controlPort: settings.controlPort,
    speed: settings.speed,
    site: settings.site,
    ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
    battery: settings.simBattery,
    ...(settings.simRtu !== undefined ? { rtu: { path: settings.simRtu, baudRate: settings.simRtuBaud } } : {}),
    ...(settings.simProfile !== undefined ? { profile: settings.simProfile } : {}),
  });
  stopOnSignals({ stop: () => sim.close() }, 'sim');
  console.log(
    `sim ready: Modbus TCP ${hostPort(settings.simHost, sim.modbusPort)} (unit 1 battery, 2 PCS, 3 meter${settings.simProfile ? `, and the ${settings.simProfile} vendor map` : ''}), ` +
      `${settings.simRtu !== undefined ? `Modbus RTU ${settings.simRtu} at ${settings.simRtuBaud} 8N1, ` : ''}` +
      `control API http://${hostPort(settings.controlHost, sim.controlPort)}/state`,
  );
  reportReady({ role: 'sim', ports: { modbusPort: sim.modbusPort, controlPort: sim.controlPort } });
}

export async function runNodeRedRole(settings: CloudSettings | EdgeSettings): Promise<void> {
  const { startRuntime, EDITOR_ROOT, API_ROOT } = await import('../app/runtime.js');
  const runtime = await startRuntime(settings);
  stopOnSignals(runtime, settings.role);
  const brokerHost = settings.role === 'cloud' ? settings.mqttHost : settings.host;
  const broker = runtime.mqttPort !== undefined ? `, MQTT mqtt://${hostPort(brokerHost, runtime.mqttPort)}` : '';
  const mqtts = runtime.mqttsPort !== undefined ? `, MQTTS mqtts://${hostPort(brokerHost, runtime.mqttsPort)}` : '';
  console.log(`${settings.role} ready: editor ${runtime.url}${EDITOR_ROOT}/, API ${runtime.url}${API_ROOT}/health${broker}${mqtts}`);
  const ports: Record<string, number> = { [settings.role === 'cloud' ? 'port' : 'edgePort']: runtime.port };
  if (runtime.mqttPort !== undefined) ports.mqttPort = runtime.mqttPort;
  reportReady({ role: settings.role, ports });
}
