// The simulated ONVIF camera's event service on its own, over real HTTP: requests built as a client
// sends them (WS-Addressing Action and To with mustUnderstand, the UsernameToken), replies read
// namespace-aware. Pull points with Initialized messages, long polls answered by a change or by
// their Timeout, Renew, expiry, Unsubscribe, and a restart that forgets every subscription.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import type { TestOnvifCamera } from '../../src/simulator/onvif-camera/camera.js';
import { EVENT_NS, bodies, eventRequest, readMessages, readPullPoint, readReply, readTimes, type EventOperation } from '../../src/transport/onvif/events-soap.js';
import { OnvifError } from '../../src/transport/onvif/access.js';
import { startCamera } from '../peers/onvif-camera-fixture.js';
import { until } from '../support/wait.js';

const TIMEOUT = { timeout: 30_000 };
const SECURITY = { user: 'admin', password: 'secret', clockOffsetMs: 0 };

/** One POST on a connection of its own (a restarted camera has cut every kept-alive one). */
function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no reply within 20 s')));
    req.end(body);
  });
}

async function call(operation: EventOperation, to: string, body: string, security: typeof SECURITY | null = SECURITY) {
  const res = await post(to, eventRequest(operation, to, body, security ?? undefined));
  return readReply(res.text, res.status, operation, operation);
}

const eventService = (camera: TestOnvifCamera) => camera.xaddr.replace('/device_service', '/event_service');

async function subscribe(camera: TestOnvifCamera, seconds = 60) {
  return readPullPoint(await call('CreatePullPointSubscription', eventService(camera), bodies.createPullPoint(seconds)), 'create');
}

async function faultOf(work: Promise<unknown>): Promise<OnvifError> {
  const err = await work.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof OnvifError, `expected an OnvifError, got ${String(err)}`);
  return err;
}

describe('simulated camera: event service', () => {
  it('refuses an unauthenticated subscription with ter:NotAuthorized', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const err = await faultOf(call('CreatePullPointSubscription', eventService(camera), bodies.createPullPoint(60), null));
    assert.equal(err.reason, 'not_authorized');
  });

  it('lists its topics in GetEventProperties', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const reply = await call('GetEventProperties', eventService(camera), bodies.getEventProperties());
    assert.equal(reply.uri, EVENT_NS.tev);
    const set = reply.children.find((c) => c.local === 'TopicSet');
    assert.ok(set !== undefined && set.uri === EVENT_NS.wstop);
  });

  it('a new pull point holds one Initialized message per property', TIMEOUT, async (t) => {
    const camera = await startCamera(t, { inputs: ['AlarmIn_1', 'AlarmIn_2'] });
    const pullPoint = await subscribe(camera);
    assert.match(pullPoint.address, /^http:\/\/127\.0\.0\.1:\d+\/onvif\/pull_point\/\d+$/);
    assert.ok(pullPoint.terminationTime! - pullPoint.currentTime! === 60_000);
    const { notifications } = readMessages(await call('PullMessages', pullPoint.address, bodies.pullMessages(1)));
    assert.equal(notifications.length, 6);
    assert.ok(notifications.every((n) => n.operation === 'Initialized'));
    assert.deepEqual(
      notifications.filter((n) => n.topic === 'tns1:Device/Trigger/DigitalInput').map((n) => [n.source.InputToken, n.data.LogicalState]),
      [['AlarmIn_1', 'false'], ['AlarmIn_2', 'false']],
    );
  });

  it('long poll: a pull waits for a change and is answered with it; an idle one ends at its Timeout, empty', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const pullPoint = await subscribe(camera);
    await call('PullMessages', pullPoint.address, bodies.pullMessages(1)); // the Initialized ones
    const held = call('PullMessages', pullPoint.address, bodies.pullMessages(15));
    await until('the pull at the camera', () => camera.callsOf('PullMessages').length === 2);
    camera.setTamper(true);
    const { notifications } = readMessages(await held);
    assert.deepEqual(notifications.map((n) => [n.topic, n.operation, n.data.IsTamper]), [['tns1:RuleEngine/TamperDetector/Tamper', 'Changed', 'true']]);
    const idle = readMessages(await call('PullMessages', pullPoint.address, bodies.pullMessages(1)));
    assert.deepEqual(idle.notifications, []);
    assert.ok(idle.currentTime !== undefined && idle.terminationTime !== undefined);
  });

  it('Renew moves the termination time; an expired pull point is gone', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const short = await subscribe(camera, 1);
    const renewed = readTimes(await call('Renew', short.address, bodies.renew(30)));
    assert.equal(renewed.terminationTime! - renewed.currentTime!, 30_000);
    const lapsing = await subscribe(camera, 1);
    await until('the second pull point to expire', () => camera.activeSubscriptions() === 1);
    const err = await faultOf(call('PullMessages', lapsing.address, bodies.pullMessages(1)));
    assert.equal(err.reason, 'soap_fault');
    assert.equal(err.faultSubcode, 'ter:ResourceUnknown');
  });

  it('the simulator controls raise motion, tamper and inputs for a while (POST /simulator/...)', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const pullPoint = await subscribe(camera);
    await call('PullMessages', pullPoint.address, bodies.pullMessages(1));
    const base = camera.xaddr.replace('/onvif/device_service', '/simulator');
    assert.equal((await post(`${base}/motion?duration_ms=50&rule=Door`, '')).status, 200);
    assert.equal((await post(`${base}/tamper?scene=1&duration_ms=0`, '')).status, 200);
    assert.equal((await post(`${base}/input?token=AlarmIn_1&active=false`, '')).status, 200);
    assert.equal((await post(`${base}/motion?duration_ms=-5`, '')).status, 400);
    assert.equal((await post(`${base}/smoke`, '')).status, 404);
    const seen: string[] = [];
    await until('motion on then off', async () => {
      for (const n of readMessages(await call('PullMessages', pullPoint.address, bodies.pullMessages(1))).notifications) {
        seen.push(`${n.topic} ${JSON.stringify(n.source.Rule ?? n.source.Source ?? n.source.InputToken)} ${Object.values(n.data)[0]}`);
      }
      return seen.length >= 4;
    });
    assert.deepEqual(seen, [
      'tns1:RuleEngine/CellMotionDetector/Motion "Door" true',
      'tns1:VideoSource/GlobalSceneChange/ImagingService "VideoSource_1" true',
      'tns1:Device/Trigger/DigitalInput "AlarmIn_1" false',
      'tns1:RuleEngine/CellMotionDetector/Motion "Door" false',
    ]);
  });

  it('Unsubscribe deletes the pull point; a restart forgets all of them', TIMEOUT, async (t) => {
    const camera = await startCamera(t);
    const a = await subscribe(camera);
    const b = await subscribe(camera);
    assert.equal(camera.activeSubscriptions(), 2);
    await call('Unsubscribe', a.address, bodies.unsubscribe());
    assert.equal(camera.activeSubscriptions(), 1);
    assert.equal((await faultOf(call('PullMessages', a.address, bodies.pullMessages(1)))).faultSubcode, 'ter:ResourceUnknown');
    await camera.restart();
    assert.equal(camera.activeSubscriptions(), 0);
    assert.equal((await faultOf(call('Renew', b.address, bodies.renew(10)))).faultSubcode, 'ter:ResourceUnknown');
  });
});
