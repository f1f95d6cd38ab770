// Reading the event service's replies, as odd cameras write them: their own prefixes for the ONVIF
// topic namespace, vendor namespaces, elements nobody asked about, too many items, too-long
// values, nesting and element counts past the limits. Bounded, and never a throw other than a
// coded OnvifError.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OnvifError } from '../../../src/transport/onvif/access.js';
import { EVENT_NS, readMessages, readReply } from '../../../src/transport/onvif/events-soap.js';
import { MAX_DEPTH, MAX_ELEMENTS } from '../../../src/transport/onvif/events-xml.js';
import { noticeOf } from '../../../src/transport/onvif/events-map.js';

function pullReply(messages: string, extraNs = ''): string {
  return (
    `<e:Envelope xmlns:e="${EVENT_NS.soap}" xmlns:ev="${EVENT_NS.tev}" xmlns:n="${EVENT_NS.wsnt}" xmlns:t="${EVENT_NS.tt}" ${extraNs}><e:Body>` +
    `<ev:PullMessagesResponse><ev:CurrentTime>2026-12-05T10:00:00Z</ev:CurrentTime><ev:TerminationTime>2026-12-05T10:01:00Z</ev:TerminationTime>${messages}</ev:PullMessagesResponse></e:Body></e:Envelope>`
  );
}

function message(topic: string, items: string, attrs = 'UtcTime="2026-12-05T10:00:00Z" PropertyOperation="Changed"'): string {
  return `<n:NotificationMessage><n:Topic>${topic}</n:Topic><n:Message><t:Message ${attrs}>${items}</t:Message></n:Message></n:NotificationMessage>`;
}

const read = (xml: string) => readMessages(readReply(xml, 200, 'PullMessages', 'test'));

function badReply(xml: string, status = 200): OnvifError {
  try {
    readReply(xml, status, 'PullMessages', 'test');
  } catch (err) {
    assert.ok(err instanceof OnvifError, String(err));
    return err;
  }
  assert.fail('accepted');
}

describe('event replies', () => {
  it("writes the ONVIF topic namespace as tns1 whatever the camera's prefix; a vendor prefix stays", () => {
    const { notifications, currentTime, terminationTime } = read(
      pullReply(
        message('ns7:VideoSource/MotionAlarm', '<t:Source><t:SimpleItem Name="Source" Value="V1"/></t:Source><t:Data><t:SimpleItem Name="State" Value="1"/></t:Data>') +
          message('acme:Lens/Dirty', '<t:Data><t:SimpleItem Name="Level" Value="3"/></t:Data>'),
        `xmlns:ns7="${EVENT_NS.tns1}" xmlns:acme="urn:acme:topics"`,
      ),
    );
    assert.equal(terminationTime! - currentTime!, 60_000);
    assert.deepEqual(notifications.map((n) => n.topic), ['tns1:VideoSource/MotionAlarm', 'acme:Lens/Dirty']);
    const motion = noticeOf(notifications[0], 0)!;
    assert.deepEqual([motion.subject, motion.name, motion.active], ['motion', 'V1', true]);
    assert.equal(noticeOf(notifications[1], 0)!.subject, 'other');
  });

  it('ignores elements in unknown namespaces and messages without a topic or a Message', () => {
    const { notifications } = read(
      pullReply(
        '<x:Junk xmlns:x="urn:nobody"><x:NotificationMessage/></x:Junk>' +
          '<n:NotificationMessage><n:Topic></n:Topic><n:Message><t:Message/></n:Message></n:NotificationMessage>' +
          '<n:NotificationMessage><n:Topic>tns1:A</n:Topic></n:NotificationMessage>' +
          message('tns1:Device/Trigger/DigitalInput', '<t:Source><t:SimpleItem Name="InputToken" Value="In1"/></t:Source><t:Data><t:SimpleItem Name="LogicalState" Value="maybe"/></t:Data>'),
        `xmlns:tns1="${EVENT_NS.tns1}"`,
      ),
    );
    assert.equal(notifications.length, 1);
    // A state topic without a boolean value passes on as `other`, never as a guess.
    assert.equal(noticeOf(notifications[0], 0)!.subject, 'other');
  });

  it('bounds what a notification carries: 16 items, 256 characters each; a Deleted property is no notice', () => {
    const many = Array.from({ length: 40 }, (_, i) => `<t:SimpleItem Name="k${i}" Value="${'v'.repeat(1000)}"/>`).join('');
    const { notifications } = read(pullReply(message(`tns1:${'Long/'.repeat(100)}Topic`, `<t:Data>${many}</t:Data>`), `xmlns:tns1="${EVENT_NS.tns1}"`));
    const [n] = notifications;
    assert.equal(Object.keys(n.data).length, 16);
    assert.ok(Object.values(n.data).every((v) => v.length === 256));
    assert.ok(n.topic.length <= 256);
    assert.equal(noticeOf({ ...n, operation: 'Deleted' }, 0), null);
  });

  it(`refuses XML nested deeper than ${MAX_DEPTH} or with more than ${MAX_ELEMENTS} elements, and what is not SOAP`, () => {
    assert.match(badReply(pullReply(`${'<t:x>'.repeat(MAX_DEPTH)}${'</t:x>'.repeat(MAX_DEPTH)}`)).message, /nested deeper/);
    assert.match(badReply(pullReply('<t:x/>'.repeat(MAX_ELEMENTS + 1))).message, /more than/);
    assert.equal(badReply('<html><body>login</body></html>').reason, 'bad_reply');
    assert.equal(badReply('<a><b></a>').reason, 'bad_reply');
    assert.equal(badReply('').reason, 'bad_reply');
    assert.equal(badReply('', 500).reason, 'http_status');
    assert.equal(badReply('', 401).reason, 'not_authorized');
    const wrong = badReply(`<e:Envelope xmlns:e="${EVENT_NS.soap}"><e:Body><x:PullMessagesResponse xmlns:x="urn:other"/></e:Body></e:Envelope>`);
    assert.match(wrong.message, /no PullMessagesResponse/);
  });
});
