// Connection resume after the hub cuts every connection (POST /_hub/faults/drop): nothing is
// lost, nothing is duplicated, order holds and the connections keep their ids.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Clients,
  Inbox,
  TEST_TIMEOUT_MS,
  channelName,
  connected,
  deadline,
  dropAllConnections,
  openGate,
  reachState,
  subscribe,
} from './lib.mjs';

const options = { timeout: TEST_TIMEOUT_MS };

function numbered(prefix, count) {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

test('after a drop, clients resume and every message arrives once, in order', options, async () => {
  const clients = new Clients();
  const gate = await openGate();
  try {
    const name = channelName('resume');
    // The subscriber goes through the gate so that its reconnection can be held back.
    const subscriber = clients.realtime({ clientId: 'resume-subscriber', port: gate.port });
    const subscriberChannel = subscriber.channels.get(name);
    const inbox = await subscribe(subscriberChannel);
    const subscriberStates = new Inbox();
    subscriber.connection.on(subscriberStates.push);
    const channelStates = new Inbox();
    subscriberChannel.on(channelStates.push);

    const publisher = clients.realtime({ clientId: 'resume-publisher' });
    const publisherChannel = publisher.channels.get(name);
    await deadline(publisherChannel.attach(), 'publisher attach');
    const subscriberId = subscriber.connection.id;
    const publisherId = publisher.connection.id;

    // One publisher, so the order it publishes in is the order everyone must see.
    const expected = [];
    const publishAll = (names) => {
      expected.push(...names);
      return Promise.all(names.map((label) => publisherChannel.publish(label, { label })));
    };

    await deadline(publishAll(numbered('before', 3)), 'publishes before the drop');
    await inbox.named('before2');

    // Published while the publisher itself is offline: ably-js queues these and sends them once
    // it has resumed.
    const queued = new Promise((resolve) => {
      publisher.connection.once('disconnected', () => resolve(publishAll(numbered('queued', 3))));
    });
    gate.hold();
    await dropAllConnections();
    await deadline(queued, 'queued publishes to be acknowledged after the publisher resumed');
    await connected(publisher, 'the publisher after the drop');

    // Published while the subscriber is offline (held at the gate): it can only get these by
    // resuming its channel from where it left off.
    await subscriberStates.until(
      (changes) => changes.some((change) => change.current === 'disconnected'),
      'the subscriber to lose its connection',
    );
    await deadline(publishAll(numbered('missed', 3)), 'publishes while the subscriber is offline');
    assert.notEqual(subscriber.connection.state, 'connected');
    gate.release();
    await connected(subscriber, 'the subscriber after the drop');
    await reachState(subscriberChannel, 'attached', 'the subscriber channel after resume');

    await deadline(publishAll(numbered('after', 3)), 'publishes after the resume');
    await inbox.named('after2');
    assert.deepEqual(inbox.names(), expected);

    assert.equal(subscriber.connection.id, subscriberId, 'the subscriber did not resume');
    assert.equal(publisher.connection.id, publisherId, 'the publisher did not resume');
    const reattached = channelStates.items.filter((change) => change.current === 'attached');
    assert.ok(reattached.length > 0, 'the subscriber channel was not re-attached');
    assert.equal(reattached.at(-1).resumed, true, 'the re-attach did not report RESUMED');
  } finally {
    clients.close();
    gate.close();
  }
});
