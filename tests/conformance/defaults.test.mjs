// ably-js with its default options, as the web app's server and browser code create it:
// `new Ably.Rest({ key })` and `new Ably.Realtime({ key })`, pointed at the hub and nothing
// else changed. In Node that is the msgpack protocol, binary data included.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Clients,
  TEST_TIMEOUT_MS,
  channelName,
  connected,
  deadline,
  subscribe,
  subscribePresence,
} from './lib.mjs';

const options = { timeout: TEST_TIMEOUT_MS };

test('default options: REST publishes reach realtime, realtime publishes reach REST history', options, async () => {
  const clients = new Clients();
  try {
    const rest = clients.restWithDefaults();
    const realtime = clients.realtimeWithDefaults();
    assert.equal(rest.options.useBinaryProtocol, true, 'msgpack is the default in Node');
    await connected(realtime);
    const name = channelName('defaults-pubsub');
    const inbox = await subscribe(realtime.channels.get(name));

    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    const restChannel = rest.channels.get(name);
    await deadline(restChannel.publish('greeting', { hello: 'world', n: 42 }), 'REST publish of JSON');
    await deadline(restChannel.publish('bytes', bytes), 'REST publish of binary');
    await deadline(restChannel.publish('text', 'plain text ✓'), 'REST publish of text');
    const received = await inbox.count(3, 'messages over realtime');
    assert.deepEqual(received.map((message) => message.name), ['greeting', 'bytes', 'text']);
    assert.deepEqual(received[0].data, { hello: 'world', n: 42 });
    assert.ok(Buffer.isBuffer(received[1].data), 'binary arrives as binary');
    assert.deepEqual(Buffer.from(received[1].data), bytes);
    assert.equal(received[2].data, 'plain text ✓');

    await deadline(realtime.channels.get(name).publish('from-realtime', bytes), 'realtime publish');
    const page = await deadline(restChannel.history({ direction: 'forwards' }), 'REST history');
    assert.deepEqual(
      page.items.map((message) => message.name),
      ['greeting', 'bytes', 'text', 'from-realtime'],
    );
    assert.deepEqual(Buffer.from(page.items[3].data), bytes, 'binary kept through history');

    const time = await deadline(rest.time(), 'REST time');
    assert.ok(Math.abs(time - Date.now()) < 60_000, `the hub's time ${time} is now`);
  } finally {
    clients.close();
  }
});

test('default options: presence entered over realtime is listed over REST', options, async () => {
  const clients = new Clients();
  try {
    const rest = clients.restWithDefaults();
    const watcher = clients.realtimeWithDefaults();
    const name = channelName('defaults-presence');
    const events = await subscribePresence(watcher.channels.get(name));
    const entering = clients.realtimeWithDefaults();
    await connected(entering);
    await deadline(
      entering.channels.get(name).presence.enterClient('broker-7', { name: 'Sam', viewing: true }),
      'presence enter',
    );
    await events.until(
      (items) => items.some((item) => item.action === 'enter' && item.clientId === 'broker-7'),
      'the enter over realtime',
    );
    const listed = await deadline(rest.channels.get(name).presence.get(), 'REST presence');
    const members = listed.items.map((item) => [item.clientId, item.data]);
    assert.deepEqual(members, [['broker-7', { name: 'Sam', viewing: true }]]);
  } finally {
    clients.close();
  }
});
