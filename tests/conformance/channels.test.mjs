// Channel discovery as the dashboard does it: REST enumeration by prefix, then the
// [meta]channel.lifecycle metachannel for channels opened later.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Clients,
  TEST_TIMEOUT_MS,
  brokerAuth,
  channelName,
  deadline,
  subscribe,
} from './lib.mjs';

const options = { timeout: TEST_TIMEOUT_MS };

/** A channel as listed by GET /channels: a name (by=id) or ChannelDetails (by=value). */
function listedName(item) {
  return typeof item === 'string' ? item : (item?.channelId ?? item?.name);
}

test('GET /channels lists the channels in use under a prefix', options, async () => {
  const clients = new Clients();
  try {
    const prefix = channelName('enum:');
    const attached = `${prefix}attached`;
    const published = `${prefix}published`;
    const elsewhere = channelName('not-enum:attached');

    const realtime = clients.realtime();
    await deadline(realtime.channels.get(attached).attach(), `attach of ${attached}`);
    await deadline(realtime.channels.get(elsewhere).attach(), `attach of ${elsewhere}`);
    const rest = clients.rest();
    const publish = rest.channels.get(published).publish('hello', 'world');
    await deadline(publish, `publish to ${published}`);

    // ably-js has no method for enumeration; Ably serves it as protocol version 3.
    const response = await deadline(
      rest.request('get', '/channels', 3, { prefix }, null, null),
      'GET /channels',
    );
    assert.equal(response.success, true, `${response.statusCode} ${response.errorMessage}`);
    assert.deepEqual(response.items.map(listedName).sort(), [attached, published].sort());
  } finally {
    clients.close();
  }
});

test('[meta]channel.lifecycle announces a newly opened conversation', options, async () => {
  const clients = new Clients();
  try {
    // Watch as a broker does: with the web app's token, whose capability names the metachannel.
    const watcher = clients.realtime(brokerAuth('watcher'));
    const lifecycle = await subscribe(watcher.channels.get('[meta]channel.lifecycle'));

    const name = `conversation:${channelName('lifecycle-new')}`;
    const user = clients.realtime();
    await deadline(user.channels.get(name).attach(), `attach of ${name}`);

    const names = (message) => message.data?.name === name || message.data?.channelId === name;
    const opened = (
      await lifecycle.until(
        (items) => items.some((message) => message.name === 'channel.opened' && names(message)),
        `channel.opened for ${name}`,
      )
    ).find((message) => message.name === 'channel.opened' && names(message));
    assert.equal(typeof opened.data, 'object', 'lifecycle data is a decoded JSON object');
  } finally {
    clients.close();
  }
});
