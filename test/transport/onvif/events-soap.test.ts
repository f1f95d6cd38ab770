// Reading the event service's replies, as odd cameras write them: their own prefixes for the ONVIF
// topic namespace, vendor namespaces, elements nobody asked about, too many items, too-long
// values, nesting and element counts past the limits. Bounded, and never a throw other than a
// coded OnvifError. The TopicSet of a GetEventPropertiesResponse as ONVIF Core's example writes it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OnvifError } from '../../../src/transport/onvif/access.js';
import { EVENT_NS, MAX_TOPICS, readMessages, readReply, readTopicDescriptions, readTopicSet } from '../../../src/transport/onvif/events-soap.js';
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

/** ONVIF Core 2.x section 9.5 (Get event properties), trimmed: three topics, one with a deeper path. */
const EVENT_PROPERTIES = `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:tev="http://www.onvif.org/ver10/events/wsdl"
  xmlns:wstop="http://docs.oasis-open.org/wsn/t-1" xmlns:tt="http://www.onvif.org/ver10/schema" xmlns:tns1="http://www.onvif.org/ver10/topics"
  xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><env:Body><tev:GetEventPropertiesResponse>
<tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>
<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>
<wstop:TopicSet>
  <tns1:VideoSource><MotionAlarm wstop:topic="true"><tt:MessageDescription IsProperty="true">
    <tt:Source><tt:SimpleItemDescription Name="Source" Type="tt:ReferenceToken"/></tt:Source>
    <tt:Data><tt:SimpleItemDescription Name="State" Type="xsd:boolean"/></tt:Data></tt:MessageDescription></MotionAlarm></tns1:VideoSource>
  <tns1:RuleEngine><CellMotionDetector><Motion wstop:topic="true"><tt:MessageDescription IsProperty="true">
    <tt:Source><tt:SimpleItemDescription Name="VideoSourceConfigurationToken" Type="tt:ReferenceToken"/>
      <tt:SimpleItemDescription Name="Rule" Type="xsd:string"/></tt:Source>
    <tt:Data><tt:SimpleItemDescription Name="IsMotion" Type="xsd:boolean"/></tt:Data></tt:MessageDescription></Motion></CellMotionDetector>
    <TamperDetector><Tamper wstop:topic="true"/></TamperDetector></tns1:RuleEngine>
</wstop:TopicSet>
<tev:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</tev:TopicExpressionDialect>
</tev:GetEventPropertiesResponse></env:Body></env:Envelope>`;

function topicSetReply(topicSet: string, extraNs = ''): string {
  return (
    `<e:Envelope xmlns:e="${EVENT_NS.soap}" xmlns:ev="${EVENT_NS.tev}" xmlns:ws="${EVENT_NS.wstop}" xmlns:t="${EVENT_NS.tt}" ${extraNs}><e:Body>` +
    `<ev:GetEventPropertiesResponse><ws:TopicSet>${topicSet}</ws:TopicSet></ev:GetEventPropertiesResponse></e:Body></e:Envelope>`
  );
}

const properties = (xml: string) => readReply(xml, 200, 'GetEventProperties', 'GetEventProperties');

describe('event properties', () => {
  it('lists the topics of the TopicSet, with the simple items each carries', () => {
    assert.deepEqual(readTopicDescriptions(properties(EVENT_PROPERTIES)), [
      { topic: 'tns1:VideoSource/MotionAlarm', source: ['Source'], data: ['State'] },
      { topic: 'tns1:RuleEngine/CellMotionDetector/Motion', source: ['VideoSourceConfigurationToken', 'Rule'], data: ['IsMotion'] },
      { topic: 'tns1:RuleEngine/TamperDetector/Tamper', source: [], data: [] },
    ]);
    assert.deepEqual(readTopicSet(properties(EVENT_PROPERTIES)), ['tns1:VideoSource/MotionAlarm', 'tns1:RuleEngine/CellMotionDetector/Motion', 'tns1:RuleEngine/TamperDetector/Tamper']);
  });

  it("names topics as their notifications read: tns1 whatever the camera's prefix, a vendor's prefix kept, a topic under a topic", () => {
    const reply = topicSetReply(
      '<ns7:Device><Trigger><Relay ws:topic=" true "><Extra ws:topic="true"/></Relay></Trigger></ns7:Device>' +
        '<acme:Lens><Dirty ws:topic="true"><t:MessageDescription><t:Data><t:SimpleItemDescription Name="Level"/></t:Data></t:MessageDescription></Dirty></acme:Lens>' +
        '<acme:Unmarked ws:topic="false"/>',
      `xmlns:ns7="${EVENT_NS.tns1}" xmlns:acme="urn:acme:topics"`,
    );
    assert.deepEqual(readTopicDescriptions(properties(reply)), [
      { topic: 'tns1:Device/Trigger/Relay', source: [], data: [] },
      { topic: 'tns1:Device/Trigger/Relay/Extra', source: [], data: [] },
      { topic: 'acme:Lens/Dirty', source: [], data: ['Level'] },
    ]);
  });

  it(`bounds what it reads: ${MAX_TOPICS} topics, 16 items of 256 characters each`, () => {
    const many = Array.from({ length: MAX_TOPICS + 20 }, (_, i) => `<tns1:T${i} ws:topic="true"/>`).join('');
    assert.equal(readTopicDescriptions(properties(topicSetReply(many, `xmlns:tns1="${EVENT_NS.tns1}"`))).length, MAX_TOPICS);
    const items = Array.from({ length: 40 }, (_, i) => `<t:SimpleItemDescription Name="${String(i).padEnd(1000, 'x')}"/>`).join('');
    const [topic] = readTopicDescriptions(properties(topicSetReply(`<tns1:Big ws:topic="true"><t:MessageDescription><t:Source>${items}</t:Source></t:MessageDescription></tns1:Big>`, `xmlns:tns1="${EVENT_NS.tns1}"`)));
    assert.equal(topic.source.length, 16);
    assert.ok(topic.source.every((n) => n.length === 256));
  });

  it(`refuses a reply that is not well-formed or nests deeper than ${MAX_DEPTH}`, () => {
    assert.throws(() => properties(EVENT_PROPERTIES.slice(0, 600)), (err: unknown) => err instanceof OnvifError && /^bad_reply: GetEventProperties: reply is not well-formed XML/.test(err.message));
    const deep = topicSetReply(`${'<x>'.repeat(200)}<y ws:topic="true"/>${'</x>'.repeat(200)}`);
    assert.throws(() => properties(deep), (err: unknown) => err instanceof OnvifError && err.message === `bad_reply: GetEventProperties: reply is nested deeper than ${MAX_DEPTH} elements`);
  });
});
