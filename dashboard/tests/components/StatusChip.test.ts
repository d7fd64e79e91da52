import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import StatusChip from '../../src/components/StatusChip.vue';

describe('status chips', () => {
  it('give every status a word and an icon, never colour alone', () => {
    const w = mount(StatusChip, { props: { tone: 'crit', label: 'critical' } });
    expect(w.text()).toContain('critical');
    expect(w.find('.icon').text()).not.toBe('');
  });
});
