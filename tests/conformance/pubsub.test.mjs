// Publish and subscribe: payload types and order, echo suppression, idempotent publishing,
// the message size limit and the per-connection channel limit.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  Clients,
  TEST_TIMEOUT_MS,
  channelName,
  connected,
  deadline,
  rejectsWithCode,
  subscribe,
} from './lib.mjs';

const options = { timeout: TEST_TIMEOUT_MS };

/** Payload number `i`: a JSON object, a string or binary, in turn. */
function payload(i) {
  switch (i % 3) {
    case 0:
      return { seq: i, text: 'ünïcødé ✓', nested: { even: i % 2 === 0, list: [1, null] } };
    case 1:
      // A string that looks like JSON must come back as that string, not as an object.
      return i % 2 ? `message ${i} ✓ "quoted"\nsecond line` : `{"looks":"like JSON","seq":${i}}`;
    default:
      return Buffer.concat([Buffer.from([i, 0x00, 0xff, 0x80]), randomBytes(60)]);
  }
}

test('JSON, string and binary messages arrive intact and in order', options, async () => {
  const clients = new Clients();
  try {
    const name = channelName('pubsub-order');
    const subscriber = clients.realtime();
    const inbox = await subscribe(subscriber.channels.get(name));

    // 48 messages stays under the 50 msg/s per-connection inbound rate Ably documents.
    const sent = Array.from({ length: 48 }, (_, i) => ({ name: `m${i}`, data: payload(i) }));
    const publisher = clients.realtime();
    const channel = publisher.channels.get(name);
    // Publish without awaiting each one: many frames are in flight before the first ACK.
    const acks = sent.map((message) => channel.publish(message.name, message.data));
    await deadline(Promise.all(acks), 'ACKs for every publish');

    const received = await inbox.count(sent.length, 'messages');
    assert.deepEqual(
      received.map((message) => message.name),
      sent.map((message) => message.name),
      'messages arrived out of order',
    );
    for (const [i, message] of received.entries()) {
      assert.deepStrictEqual(message.data, sent[i].data, `data of ${message.name}`);
    }
    assert.ok(Buffer.isBuffer(received[2].data), 'binary data is delivered as a Buffer');
  } finally {
    clients.close();
  }
});

test('echoMessages: false keeps a publisher from hearing itself', options, async () => {
  const clients = new Clients();
  try {
    const name = channelName('echo');
    const quiet = clients.realtime({ echoMessages: false });
    const other = clients.realtime();
    const quietInbox = await subscribe(quiet.channels.get(name));
    const otherInbox = await subscribe(other.channels.get(name));

    await deadline(quiet.channels.get(name).publish('own', 'mine'), 'publish by the quiet client');
    await otherInbox.named('own', 'the quiet client\'s message at the other client');

    // The hub keeps channel order, so the own message would have come before this one.
    await deadline(other.channels.get(name).publish('sentinel', 'theirs'), 'sentinel publish');
    await quietInbox.named('sentinel');
    assert.deepEqual(quietInbox.names(), ['sentinel']);
  } finally {
    clients.close();
  }
});

test('a realtime publish repeated with the same id is delivered once', options, async () => {
  const clients = new Clients();
  try {
    const name = channelName('idempotent-realtime');
    const subscriber = clients.realtime();
    const inbox = await subscribe(subscriber.channels.get(name));
    const channel = clients.realtime().channels.get(name);

    const id = `${channelName('idem-rt')}:0`;
    await deadline(channel.publish({ id, name: 'dup', data: 'first' }), 'first publish');
    // The duplicate is acknowledged (the publisher cannot tell a retry apart) but not delivered.
    await deadline(channel.publish({ id, name: 'dup', data: 'second' }), 'duplicate publish');
    await deadline(channel.publish('sentinel', 'end'), 'sentinel publish');

    await inbox.named('sentinel');
    assert.deepEqual(inbox.names(), ['dup', 'sentinel']);
    assert.equal(inbox.items[0].id, id);
    assert.equal(inbox.items[0].data, 'first');
  } finally {
    clients.close();
  }
});

test('a REST publish repeated with the same id is delivered and stored once', options, async () => {
  const clients = new Clients();
  try {
    const name = channelName('idempotent-rest');
    const subscriber = clients.realtime();
    const inbox = await subscribe(subscriber.channels.get(name));
    const channel = clients.rest().channels.get(name);

    const id = `${channelName('idem-rest')}:0`;
    await deadline(channel.publish({ id, name: 'dup', data: 'first' }), 'first REST publish');
    await deadline(channel.publish({ id, name: 'dup', data: 'second' }), 'duplicate REST publish');
    await deadline(channel.publish('sentinel', 'end'), 'sentinel REST publish');

    await inbox.named('sentinel');
    assert.deepEqual(inbox.names(), ['dup', 'sentinel']);
    assert.equal(inbox.items[0].data, 'first');

    const history = await deadline(channel.history({ direction: 'forwards' }), 'history');
    assert.deepEqual(
      history.items.map((message) => message.name),
      ['dup', 'sentinel'],
    );
  } finally {
    clients.close();
  }
});

test('a message over the size limit is refused with 40009', options, async () => {
  const clients = new Clients();
  try {
    const name = channelName('oversized');
    const big = 'x'.repeat(70_000);

    // The raised client-side limit means the refusal comes from the hub: either the limit it
    // announces in connectionDetails.maxMessageSize (which replaces this option) or its NACK.
    const realtime = clients.realtime({ maxMessageSize: 1_000_000 });
    await connected(realtime);
    await rejectsWithCode(
      realtime.channels.get(name).publish('big', big),
      40009,
      'realtime publish of 70 000 characters',
    );

    // REST has no connectionDetails, so with the raised limit only the hub can refuse.
    const rest = clients.rest({ maxMessageSize: 1_000_000 });
    await rejectsWithCode(
      rest.channels.get(name).publish('big', big),
      40009,
      'REST publish of 70 000 characters',
    );
    const response = await deadline(
      rest.request('post', `/channels/${encodeURIComponent(name)}/messages`, 6, null, [
        { name: 'big', data: big },
      ]),
      'raw POST /channels/{name}/messages',
    );
    assert.equal(response.success, false, `status ${response.statusCode}`);
    assert.equal(response.errorCode, 40009, `error ${response.errorCode} ${response.errorMessage}`);

    const history = await deadline(rest.channels.get(name).history(), 'history');
    assert.deepEqual(history.items, [], 'a refused message was stored');
  } finally {
    clients.close();
  }
});

test('the 201st channel on one connection is refused with 90010', options, async () => {
  const clients = new Clients();
  try {
    const client = clients.realtime();
    await connected(client);
    const channels = Array.from({ length: 200 }, (_, i) =>
      client.channels.get(channelName(`limit:${i}`)),
    );
    await deadline(
      Promise.all(channels.map((channel) => channel.attach())),
      '200 attaches on one connection',
    );

    const extra = client.channels.get(channelName('limit:200'));
    await rejectsWithCode(extra.attach(), 90010, 'attach of the 201st channel');
    assert.equal(extra.state, 'failed');
    assert.ok(
      channels.every((channel) => channel.state === 'attached'),
      'the first 200 channels stay attached',
    );
  } finally {
    clients.close();
  }
});
