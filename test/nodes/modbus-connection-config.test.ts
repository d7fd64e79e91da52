// The modbus-connection's address may be an environment reference (the examples use
// ${EMS_MODBUS_HOST}:${EMS_MODBUS_PORT}): Node-RED substitutes a set variable before the node
// sees it; one left as it is was not set, and the configuration error says which.
import assert from 'node:assert/strict';
import { ModbusConnectionConfigSchema } from '../../nodes/modbus-connection/config';

describe('modbus-connection configuration', () => {
  it('takes the substituted address as text, and defaults to the simulator', () => {
    const c = ModbusConnectionConfigSchema.parse({ host: '127.0.0.1', port: '5031' });
    assert.equal(c.port, 5031);
    assert.equal(ModbusConnectionConfigSchema.parse({}).port, 5020);
  });

  it('names the environment variable that was not set', () => {
    const r = ModbusConnectionConfigSchema.safeParse({ host: '${EMS_MODBUS_HOST}', port: '${EMS_MODBUS_PORT}' });
    assert.equal(r.success, false);
    const messages = r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    assert.match(messages, /host: refers to the environment variable EMS_MODBUS_HOST, which is not set/);
    assert.match(messages, /port: refers to the environment variable EMS_MODBUS_PORT, which is not set/);
  });
});
