import assert from 'node:assert/strict';
import { easterSunday, isPublicHoliday, publicHolidays } from '../../../domain/forecast/holidays';

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`);

describe('German public holidays computed in code', () => {
  it('finds Easter Sunday for known years', () => {
    assert.equal(easterSunday(2012), day('2012-04-08'));
    assert.equal(easterSunday(2014), day('2014-04-20'));
    assert.equal(easterSunday(2019), day('2019-04-21'));
    assert.equal(easterSunday(2025), day('2025-04-20'));
  });

  it('lists the nine national holidays of 2012 for Berlin, with the movable ones off Easter', () => {
    const be = publicHolidays(2012, 'BE').map((h) => new Date(h.day).toISOString().slice(0, 10));
    assert.deepEqual(be, ['2012-01-01', '2012-04-06', '2012-04-09', '2012-05-01', '2012-05-17', '2012-05-28', '2012-10-03', '2012-12-25', '2012-12-26']);
  });

  it('adds the regional holidays: Bavaria, Berlin since 2019, Saxony Buss- und Bettag', () => {
    assert.ok(isPublicHoliday(day('2014-01-06'), 'BY'));
    assert.ok(isPublicHoliday(day('2014-06-19'), 'BY'), 'Fronleichnam 2014');
    assert.ok(isPublicHoliday(day('2014-08-15'), 'BY'));
    assert.ok(!isPublicHoliday(day('2014-08-15'), 'BE'));
    assert.ok(!isPublicHoliday(day('2018-03-08'), 'BE'));
    assert.ok(isPublicHoliday(day('2019-03-08'), 'BE'));
    assert.ok(isPublicHoliday(day('2023-11-22'), 'SN'));
    assert.ok(isPublicHoliday(day('2017-10-31'), 'BE'), 'Reformationstag everywhere in 2017');
  });

  it('treats any time within the day as that day', () => {
    assert.ok(isPublicHoliday(day('2012-10-03') + 23 * 3_600_000, 'DE'));
    assert.ok(!isPublicHoliday(day('2012-10-04'), 'DE'));
  });
});
