// The command panel offers what the role may send, and nothing leaves without a confirmation.
import { beforeEach, describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import CommandPanel from '../../../src/views/site/CommandPanel.vue';
import { useAuthStore } from '../../../src/stores/auth';
import type { Role } from '../../../src/auth/permissions';

function as(role: Role) {
  const pinia = createPinia();
  setActivePinia(pinia);
  const auth = useAuthStore();
  auth.accessToken = 't';
  auth.user = { id: 'u', email: 'x@example.com', role, orgId: 'default', twoFactor: false, disabled: false, siteIds: [], createdAt: '' };
  return mount(CommandPanel, { props: { siteId: 'site-1', maxChargeW: 5000, maxDischargeW: 5000 }, global: { plugins: [pinia] }, attachTo: document.body });
}

describe('the command panel', () => {
  beforeEach(() => {
    document.body.innerHTML = '';
  });

  it('offers setpoint, modes and e-stop to an OPERATOR, but not the e-stop reset', () => {
    const w = as('OPERATOR');
    for (const t of ['send-setpoint', 'mode-auto', 'mode-standby', 'estop']) expect(w.find(`[data-test=${t}]`).exists(), t).toBe(true);
    expect(w.find('[data-test=reset]').exists()).toBe(false);
  });

  it('offers the reset to a TECHNICIAN', () => {
    expect(as('TECHNICIAN').find('[data-test=reset]').exists()).toBe(true);
  });

  it('asks for confirmation, naming the command, before sending anything', async () => {
    const w = as('OPERATOR');
    await w.find('[data-test=setpoint-kw]').setValue('-2');
    await w.find('[data-test=setpoint-minutes]').setValue('10');
    await w.find('form').trigger('submit');
    const dialog = w.find('dialog');
    expect(dialog.attributes('open')).toBeDefined();
    expect(dialog.text()).toContain('Setpoint -2.00 kW (charge) for 10 min');
    expect(w.find('[data-test=command-outcome]').exists()).toBe(false);
    await dialog.find('button[type=button]').trigger('click');
    expect(w.find('dialog').attributes('open')).toBeUndefined();
  });

  it('marks the emergency stop as dangerous and says what it does', async () => {
    const w = as('OPERATOR');
    await w.find('[data-test=estop]').trigger('click');
    expect(w.find('dialog').text()).toContain('stays there until someone resets the e-stop');
    // Who can release it, and that this OPERATOR cannot.
    expect(w.find('[data-test=estop-who-resets]').text()).toContain('Only SUPER_ADMIN, ADMIN, MANAGER, TECHNICIAN may reset it: you cannot, so ask one of them.');
    expect(w.find('dialog button[type=submit]').classes()).toContain('danger');
  });

  it('warns before sending a setpoint above the limit in its direction', async () => {
    const w = as('OPERATOR');
    await w.find('[data-test=setpoint-kw]').setValue('50');
    expect(w.find('[data-test=setpoint-over-limit-hint]').text()).toContain('Above the discharge limit of 5.00 kW');
    await w.find('form').trigger('submit');
    expect(w.find('[data-test=setpoint-over-limit]').text()).toContain('above the current discharge limit of 5.00 kW: the site will apply at most 5.00 kW');
    await w.find('[data-test=setpoint-kw]').setValue('-4');
    expect(w.find('[data-test=setpoint-over-limit-hint]').exists()).toBe(false);
  });

  it('asks the person resetting whether automatic operation resumes, and says a reset alone starts nothing', async () => {
    const w = as('TECHNICIAN');
    expect(w.find('[data-test=reset-dialog]').exists()).toBe(false);
    await w.find('[data-test=reset]').trigger('click');
    const d = w.find('[data-test=reset-dialog]');
    expect(d.text()).toContain('stays at 0 W until someone commands it');
    expect(d.find('[data-test=reset-plain]').text()).toBe('Reset, stay at 0 W');
    expect(d.find('[data-test=reset-resume]').text()).toBe('Reset and resume automatic operation');
    await d.find('button').trigger('click'); // Cancel
    expect(w.find('[data-test=reset-dialog]').exists()).toBe(false);
  });
});
