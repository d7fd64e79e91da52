// Every profile of the shipped library against the simulator presenting its family's register
// maps (lifo4 sim --profile), read over real Modbus TCP with the profile's own blocks and turned
// into Telemetry as profile-device does: what it reads is what the simulated site is.
import assert from 'node:assert/strict';
import { ModbusTransport } from '../../io/modbus/transport';
import { unitReaders } from '../../io/modbus/unit-readers';
import { profileLibrary } from '../../io/profile-library';
import { profileTelemetry, readProfileBlocks } from '../../domain/sunspec/profile-reader';
import { startSimulator, type RunningSimulator, type SiteState } from '../../runtime/simulator';

describe('the profile library, each profile read from the simulator presenting its family', function () {
  this.timeout(60_000);
  for (const { id, profile } of profileLibrary()) {
    it(`${id}: its ${profile.kind} telemetry is the simulated site's`, async () => {
      let sim: RunningSimulator | undefined;
      let transport: ModbusTransport | undefined;
      try {
        sim = await startSimulator({ modbusPort: 0, controlPort: 0, seed: 5, profile: profile.family });
        transport = new ModbusTransport({ host: '127.0.0.1', port: sim.modbusPort, timeout: 1000, queueLimit: 20 });
        const t = transport;
        const unit = profile.unitId ?? 1;
        const blocks = await readProfileBlocks((u) => unitReaders(t, u ?? unit), profile);
        const telemetry = profileTelemetry(profile, blocks.map((b) => b.model), 'site-1', id, Date.now());
        const state = (await (await fetch(`http://127.0.0.1:${sim.controlPort}/state`)).json()) as SiteState;
        // The simulator moves between the read and GET /state: a cycle's worth of tolerance.
        if (profile.kind === 'battery') {
          assert.ok(telemetry.battery, `${id} gave no battery part`);
          assert.ok(Math.abs(telemetry.battery.soc - state.pack.soc) < 1, `${id}: SoC ${telemetry.battery.soc} against ${state.pack.soc}`);
          assert.ok(Math.abs(telemetry.battery.voltage - state.pack.voltage) < 0.5, `${id}: ${telemetry.battery.voltage} V against ${state.pack.voltage} V`);
        } else if (profile.kind === 'pcs') {
          assert.ok(telemetry.pcs, `${id} gave no PCS part`);
          assert.ok(Math.abs(telemetry.pcs.power - state.pcs.power) <= Math.max(50, Math.abs(state.pcs.power) * 0.05), `${id}: ${telemetry.pcs.power} W against ${state.pcs.power} W`);
        } else {
          assert.ok(telemetry.meter, `${id} gave no meter part`);
          assert.ok(Math.abs(telemetry.meter.power - state.meter.grid) <= Math.max(50, Math.abs(state.meter.grid) * 0.05), `${id}: ${telemetry.meter.power} W against ${state.meter.grid} W`);
        }
      } finally {
        await transport?.close(0);
        await sim?.close();
      }
    });
  }
});
