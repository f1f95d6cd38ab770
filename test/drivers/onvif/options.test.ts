import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOnvifOptions } from '../../../drivers/onvif/options.js';

const CAMERA_POINTS = { outputs: { required: [], optional: [] }, inputs: { required: [], optional: [] } };
const GATE_POINTS = { outputs: { required: ['unlock'], optional: [] }, inputs: { required: [], optional: ['door'] } };

describe('onvif driver options', () => {
  it('takes an optional profile token or name', () => {
    assert.deepEqual(parseOnvifOptions(undefined, CAMERA_POINTS, 'devices[0].options'), { options: {}, issues: [] });
    assert.deepEqual(parseOnvifOptions({ profile: 'subStream' }, CAMERA_POINTS, 'o'), { options: { profile: 'subStream' }, issues: [] });
  });

  it('names every problem with its key path', () => {
    const { options, issues } = parseOnvifOptions({ profile: '', zoom: 2 }, CAMERA_POINTS, 'devices[3].options');
    assert.equal(options, undefined);
    assert.deepEqual(issues.map((i) => i.path).sort(), ['devices[3].options.profile', 'devices[3].options.zoom']);
    assert.match(parseOnvifOptions('Profile_1', CAMERA_POINTS, 'o').issues[0].message, /must be a mapping/);
    assert.match(parseOnvifOptions({ profile: 'x'.repeat(65) }, CAMERA_POINTS, 'o').issues[0].message, /1 to 64 characters/);
  });

  it('refuses a device kind that needs points', () => {
    const { issues } = parseOnvifOptions({}, GATE_POINTS, 'devices[0].options');
    assert.match(issues[0].message, /drives cameras; it has no outputs or inputs \(this device kind needs unlock\)/);
  });
});
