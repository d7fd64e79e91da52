import { describe, expect, it } from 'vitest';
import { mount } from '@vue/test-utils';
import AsyncState from '../../src/components/AsyncState.vue';

describe('loading, error and empty states', () => {
  const slots = { default: '<p class="content">data</p>' };

  it('show loading, then an error with a retry, then empty, then the content', async () => {
    const w = mount(AsyncState, { props: { loading: true, error: null }, slots });
    expect(w.find('[role=status]').text()).toContain('Loading');
    await w.setProps({ loading: false, error: 'the server cannot be reached' });
    expect(w.find('[role=alert]').text()).toContain('the server cannot be reached');
    await w.find('button').trigger('click');
    expect(w.emitted('retry')).toHaveLength(1);
    await w.setProps({ error: null, empty: true, emptyText: 'No sites yet.' });
    expect(w.text()).toBe('No sites yet.');
    await w.setProps({ empty: false });
    expect(w.find('.content').exists()).toBe(true);
  });
});
