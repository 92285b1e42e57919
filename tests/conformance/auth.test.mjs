// Connecting and authenticating: basic auth with the key, token auth through the web app's
// auth URL and through an authCallback, refused credentials and refused capabilities.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Clients,
  TEST_TIMEOUT_MS,
  brokerAuth,
  channelName,
  connected,
  deadline,
  hubKey,
  reachState,
  rejectsWithCode,
  subscribe,
} from './lib.mjs';

const options = { timeout: TEST_TIMEOUT_MS };

test('connects with the API key', options, async () => {
  const clients = new Clients();
  try {
    const client = clients.realtime();
    await connected(client);
    assert.equal(typeof client.connection.id, 'string');
    assert.ok(client.connection.id.length > 0, 'connection.id is empty');
    // Presence ids are split on ':' by ably-js, so a connection id must not contain one.
    assert.ok(!client.connection.id.includes(':'), `connection.id ${client.connection.id}`);
    assert.equal(typeof client.connection.key, 'string');
    assert.ok(client.connection.key.length > 0, 'connection.key is empty');
  } finally {
    clients.close();
  }
});

test('a wrong key secret fails the connection with 40101', options, async () => {
  const clients = new Clients();
  try {
    const [keyName] = hubKey.split(':');
    const client = clients.realtime({ key: `${keyName}:not-the-secret` });
    const change = await reachState(client.connection, 'failed', 'a connection with a bad secret');
    assert.equal(change.reason?.code, 40101, `reason ${JSON.stringify(change.reason)}`);
    assert.equal(client.connection.errorReason?.code, 40101);
  } finally {
    clients.close();
  }
});

test('token auth through the web app authUrl (POST, brokerId)', options, async () => {
  const clients = new Clients();
  try {
    // The hub's /api/ably/auth answers a TokenRequest for `broker-{brokerId}`; ably-js exchanges
    // it at POST /keys/{keyName}/requestToken and connects with the token.
    const client = clients.realtime(brokerAuth('b1'));
    await connected(client, 'a connection authenticated through authUrl');
    assert.equal(client.auth.clientId, 'broker-b1');

    const conversation = client.channels.get(`conversation:${channelName('authurl')}`);
    await deadline(conversation.attach(), 'attach of a conversation channel');
    assert.equal(conversation.state, 'attached');

    // The token names conversation:* only, so any other channel is out of bounds.
    const outside = client.channels.get(channelName('authurl-outside'));
    await rejectsWithCode(outside.attach(), 40160, 'attach outside the token capability');
    assert.equal(outside.state, 'failed');
  } finally {
    clients.close();
  }
});

test('token auth through an authCallback returning a TokenRequest', options, async () => {
  const clients = new Clients();
  try {
    const signer = clients.rest();
    const client = clients.realtime({
      authCallback: (_tokenParams, callback) => {
        signer.auth.createTokenRequest({ clientId: 'cb-user' }).then(
          (tokenRequest) => callback(null, tokenRequest),
          (error) => callback(error, null),
        );
      },
    });
    await connected(client, 'a connection authenticated through authCallback');
    assert.equal(client.auth.clientId, 'cb-user');

    // The hub stamps the token's clientId on what the client publishes.
    const channel = client.channels.get(channelName('authcallback'));
    const inbox = await subscribe(channel);
    await deadline(channel.publish('hello', 'from cb-user'), 'publish as cb-user');
    const [message] = await inbox.named('hello');
    assert.equal(message.clientId, 'cb-user');
  } finally {
    clients.close();
  }
});

test('a capability refuses attach and publish with 40160', options, async () => {
  const clients = new Clients();
  try {
    const signer = clients.rest();
    const capability = { 'allowed:*': ['subscribe', 'publish'], 'readonly:*': ['subscribe'] };
    const client = clients.realtime({
      authCallback: (_tokenParams, callback) => {
        signer.auth.createTokenRequest({ capability }).then(
          (tokenRequest) => callback(null, tokenRequest),
          (error) => callback(error, null),
        );
      },
    });
    await connected(client, 'a connection with a narrow capability');

    const allowed = client.channels.get(`allowed:${channelName('cap')}`);
    await deadline(allowed.attach(), 'attach of a channel the capability allows');
    await deadline(allowed.publish('ok', 'fine'), 'publish to a channel the capability allows');

    const denied = client.channels.get(`denied:${channelName('cap')}`);
    await rejectsWithCode(denied.attach(), 40160, 'attach outside the capability');
    assert.equal(denied.state, 'failed');
    assert.equal(denied.errorReason?.code, 40160);

    // Subscribe-only: the attach succeeds, the publish is refused by the hub.
    const readonly = client.channels.get(`readonly:${channelName('cap')}`);
    await deadline(readonly.attach(), 'attach of a subscribe-only channel');
    await rejectsWithCode(readonly.publish('nope', 'x'), 40160, 'publish without capability');

    // A refused channel operation leaves the connection itself alone.
    assert.equal(client.connection.state, 'connected');
  } finally {
    clients.close();
  }
});

test('GET /time is close to the local clock', options, async () => {
  const clients = new Clients();
  try {
    const serverTime = await deadline(clients.rest().time(), 'rest.time()');
    assert.equal(typeof serverTime, 'number');
    const skew = Math.abs(serverTime - Date.now());
    assert.ok(skew < 5_000, `hub time is ${skew} ms away from the local clock`);
  } finally {
    clients.close();
  }
});
