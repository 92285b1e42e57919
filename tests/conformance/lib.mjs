// Shared helpers for the ably-js conformance suite.
//
// The suite drives a running `brokerdash hub` with the official ably-js SDK. It is started by
// tests/ably_conformance.rs, which passes the hub's port and API key in the environment:
//   HUB_PORT      the hub's port on 127.0.0.1
//   HUB_KEY       an API key `appId.keyId:secret` with full capability
//   HUB_PROTOCOL  `json` or `msgpack`: the protocol every client of the run speaks
// Every test file runs in its own process against the same hub, so channel names carry a
// random run id and never collide with another file's or an earlier run's.

import { randomBytes } from 'node:crypto';
import net from 'node:net';
import Ably from 'ably';

const { HUB_PORT, HUB_KEY, HUB_PROTOCOL = 'json' } = process.env;
if (!HUB_PORT || !HUB_KEY) {
  throw new Error(
    'HUB_PORT and HUB_KEY must be set (run through `cargo test --test ably_conformance`)',
  );
}

const hubPort = Number(HUB_PORT);
export const hubKey = HUB_KEY;
const hubOrigin = `http://127.0.0.1:${hubPort}`;
/** The run's protocol: `useBinaryProtocol` is true for msgpack. */
export const protocol = HUB_PROTOCOL;
if (!['json', 'msgpack'].includes(protocol)) {
  throw new Error(`HUB_PROTOCOL must be json or msgpack, not ${protocol}`);
}

/** Longest any single wait may take before the test fails with a message. */
export const WAIT_MS = 10_000;
/** Per-test budget for node:test, a backstop behind the individual waits. */
export const TEST_TIMEOUT_MS = 60_000;

export const runId = randomBytes(4).toString('hex');

/** A channel name unique to this run, e.g. `3f9a0c1d-pubsub-order`. */
export function channelName(label) {
  return `${runId}-${label}`;
}

/**
 * Client options that point ably-js at the hub, speaking the run's protocol. Without any auth
 * option the hub's key is used.
 */
export function clientOptions(extra = {}) {
  const base = {
    endpoint: '127.0.0.1',
    port: hubPort,
    tls: false,
    useBinaryProtocol: protocol === 'msgpack',
  };
  const hasAuth = ['key', 'token', 'tokenDetails', 'authUrl', 'authCallback'].some(
    (option) => option in extra,
  );
  return { ...base, ...(hasAuth ? {} : { key: hubKey }), ...extra };
}

/** Where the hub is and its key, and nothing else. */
function hubOnly() {
  return { key: hubKey, endpoint: '127.0.0.1', port: hubPort, tls: false };
}

/**
 * Token auth as the dashboard does it: ably-js POSTs `brokerId` (form-encoded) to the web app's
 * auth endpoint, which the hub serves, and exchanges the TokenRequest it gets back for a token.
 */
export function brokerAuth(brokerId) {
  return {
    authUrl: `${hubOrigin}/api/ably/auth`,
    authMethod: 'POST',
    authParams: { brokerId },
  };
}

/**
 * Creates clients for one test and closes every realtime client afterwards, so no socket keeps
 * the test process alive. Use as `const clients = new Clients(); try { … } finally {
 * clients.close(); }`.
 */
export class Clients {
  #realtime = [];

  realtime(extra = {}) {
    const client = new Ably.Realtime(clientOptions(extra));
    this.#realtime.push(client);
    return client;
  }

  rest(extra = {}) {
    return new Ably.Rest(clientOptions(extra));
  }

  /**
   * A realtime client with ably-js's own defaults (msgpack in Node), given only where the hub
   * is and its key: what the web app's code does.
   */
  realtimeWithDefaults() {
    const client = new Ably.Realtime(hubOnly());
    this.#realtime.push(client);
    return client;
  }

  restWithDefaults() {
    return new Ably.Rest(hubOnly());
  }

  close() {
    for (const client of this.#realtime) client.close();
  }
}

/**
 * Races `promise` against a timer. `what` names the awaited thing in the failure message; it may
 * be a function so the message can show state as it was at the deadline.
 */
export async function deadline(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const described = typeof what === 'function' ? what() : what;
      reject(new Error(`timed out after ${ms} ms waiting for ${described}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until a connection or channel is in `state` and returns the state change that got it
 * there (or a synthetic one when it already was).
 */
export async function reachState(target, state, what, ms = WAIT_MS) {
  if (target.state === state) return { current: state, reason: target.errorReason };
  let listener;
  const reached = new Promise((resolve) => {
    listener = (change) => {
      if (change.current === state) resolve(change);
    };
    target.on(listener);
  });
  try {
    return await deadline(
      reached,
      () =>
        `${what} to become ${state} ` +
        `(it is ${target.state}, reason ${describeError(target.errorReason)})`,
      ms,
    );
  } finally {
    target.off(listener);
  }
}

export async function connected(client, what = 'the connection', ms = WAIT_MS) {
  return reachState(client.connection, 'connected', what, ms);
}

/** Awaits `promise`, expecting it to reject with the Ably error `code`; returns the error. */
export async function rejectsWithCode(promise, code, what, ms = WAIT_MS) {
  const outcome = await deadline(
    promise.then(
      (value) => ({ value }),
      (error) => ({ error }),
    ),
    what,
    ms,
  );
  if (!outcome.error) {
    throw new Error(`${what}: expected error ${code}, but it succeeded`);
  }
  if (outcome.error.code !== code) {
    throw new Error(`${what}: expected error ${code}, got ${describeError(outcome.error)}`);
  }
  return outcome.error;
}

function describeError(error) {
  return error ? `${error.code} (${error.statusCode}) ${error.message}` : 'none';
}

/** Collects events (messages, presence messages, state changes) and waits on them. */
export class Inbox {
  items = [];
  #waiters = [];

  /** Bound so it can be passed straight to `subscribe`. */
  push = (item) => {
    this.items.push(item);
    this.#waiters = this.#waiters.filter((check) => !check());
  };

  /** Resolves with all items once `predicate(items)` holds. */
  until(predicate, what, ms = WAIT_MS) {
    const satisfied = new Promise((resolve) => {
      const check = () => {
        if (!predicate(this.items)) return false;
        resolve(this.items);
        return true;
      };
      if (!check()) this.#waiters.push(check);
    });
    return deadline(satisfied, () => `${what} (received ${this.summary()})`, ms);
  }

  count(n, what, ms = WAIT_MS) {
    return this.until((items) => items.length >= n, `${n} × ${what}`, ms);
  }

  /** Waits for the first item with `name` (a message name). */
  named(name, what = `message "${name}"`, ms = WAIT_MS) {
    return this.until((items) => items.some((item) => item.name === name), what, ms);
  }

  names() {
    return this.items.map((item) => item.name);
  }

  summary() {
    const labels = this.items.map((item) => item.name ?? item.action ?? item.current ?? '?');
    const shown = labels.length > 12 ? [...labels.slice(0, 12), '…'] : labels;
    return `${this.items.length}: [${shown.join(', ')}]`;
  }
}

/** Attaches `channel`, subscribes to all its messages and returns the inbox they land in. */
export async function subscribe(channel) {
  const inbox = new Inbox();
  await deadline(channel.subscribe(inbox.push), `attach of ${channel.name} to subscribe`);
  return inbox;
}

/** Attaches `channel`, subscribes to its presence events and returns their inbox. */
export async function subscribePresence(channel) {
  const inbox = new Inbox();
  await deadline(
    channel.presence.subscribe(inbox.push),
    `attach of ${channel.name} to subscribe to presence`,
  );
  return inbox;
}

/** Asks the hub (started with --faults) to cut every connection abruptly, keeping its state. */
export async function dropAllConnections() {
  const response = await deadline(
    fetch(`${hubOrigin}/_hub/faults/drop`, { method: 'POST' }),
    'POST /_hub/faults/drop',
  );
  if (!response.ok) {
    throw new Error(`POST /_hub/faults/drop answered ${response.status} ${await response.text()}`);
  }
}

/**
 * A TCP relay to the hub that can hold back new connections. A client connected through it is
 * cut off like everyone else by a fault drop, but its reconnection waits at the gate until the
 * test releases it, so "published while this client was offline" is certain rather than a race
 * against ably-js' immediate reconnect. Keep holds short: after 4 s without an upgrade ably-js
 * starts probing the internet.
 */
export async function openGate() {
  const sockets = new Set();
  let waiting = [];
  let holding = false;

  const track = (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const relay = (client) => {
    const upstream = net.connect(hubPort, '127.0.0.1');
    track(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', cut);
      socket.on('close', cut);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const server = net.createServer((client) => {
    track(client);
    if (holding) waiting.push(client);
    else relay(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  return {
    port: server.address().port,
    /** Connections made from now on wait until `release()`. */
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      const ready = waiting.filter((socket) => !socket.destroyed);
      waiting = [];
      for (const client of ready) relay(client);
    },
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
