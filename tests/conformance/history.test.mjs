// Stored messages: REST history paging in both directions, rewind on attach, and realtime
// history up to the attach point.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Clients, TEST_TIMEOUT_MS, channelName, deadline, subscribe } from './lib.mjs';

const options = { timeout: TEST_TIMEOUT_MS };

/** Publishes `names` one after the other over REST, so their order is unambiguous. */
async function publishInOrder(channel, names) {
  for (const [seq, name] of names.entries()) {
    await deadline(channel.publish(name, { seq }), `REST publish of ${name}`);
  }
}

function numbered(prefix, count) {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Follows `next()` from `first` and returns every page, guarding against an endless chain. */
async function allPages(first, what) {
  const pages = [await deadline(first, `${what}: first page`)];
  while (pages.at(-1).hasNext()) {
    assert.ok(pages.length < 10, `${what}: more than 10 pages`);
    const next = await deadline(pages.at(-1).next(), `${what}: page ${pages.length + 1}`);
    assert.ok(next, `${what}: hasNext() was true but next() gave no page`);
    pages.push(next);
  }
  return pages;
}

function pageNames(pages) {
  return pages.map((page) => page.items.map((message) => message.name));
}

test('history pages backwards and forwards', options, async () => {
  const clients = new Clients();
  try {
    const channel = clients.rest().channels.get(channelName('history-paging'));
    const names = numbered('m', 25);
    await publishInOrder(channel, names);

    const backwards = await allPages(
      channel.history({ limit: 10, direction: 'backwards' }),
      'history backwards',
    );
    const newestFirst = [...names].reverse();
    assert.deepEqual(pageNames(backwards), [
      newestFirst.slice(0, 10),
      newestFirst.slice(10, 20),
      newestFirst.slice(20),
    ]);
    assert.equal(backwards.at(-1).isLast(), true);
    assert.deepEqual(backwards[0].items[0].data, { seq: 24 });

    const forwards = await allPages(
      channel.history({ limit: 10, direction: 'forwards' }),
      'history forwards',
    );
    assert.deepEqual(pageNames(forwards), [
      names.slice(0, 10),
      names.slice(10, 20),
      names.slice(20),
    ]);
    assert.equal(forwards.at(-1).isLast(), true);
    assert.deepEqual(forwards[0].items[0].data, { seq: 0 });
  } finally {
    clients.close();
  }
});

test('rewind: 3 delivers exactly the last 3 messages, in order', options, async () => {
  const clients = new Clients();
  try {
    const name = channelName('rewind');
    const rest = clients.rest().channels.get(name);
    await publishInOrder(rest, numbered('r', 5));

    const client = clients.realtime();
    const inbox = await subscribe(client.channels.get(name, { params: { rewind: '3' } }));
    await inbox.count(3, 'rewound messages');
    // A live message after the backlog proves nothing more was rewound.
    await deadline(rest.publish('live', { seq: 5 }), 'REST publish after attach');
    await inbox.named('live');
    assert.deepEqual(inbox.names(), ['r2', 'r3', 'r4', 'live']);
    assert.deepEqual(inbox.items[0].data, { seq: 2 });
  } finally {
    clients.close();
  }
});

test('history untilAttach stops at the attach point', options, async () => {
  const clients = new Clients();
  try {
    const name = channelName('until-attach');
    const rest = clients.rest().channels.get(name);
    await publishInOrder(rest, numbered('before', 3));

    const channel = clients.realtime().channels.get(name);
    const inbox = await subscribe(channel);
    await publishInOrder(rest, numbered('after', 2));
    await inbox.named('after1', 'the messages published after attach');

    const page = await deadline(channel.history({ untilAttach: true }), 'history untilAttach');
    assert.deepEqual(
      page.items.map((message) => message.name),
      ['before2', 'before1', 'before0'],
    );
    assert.equal(page.hasNext(), false);
  } finally {
    clients.close();
  }
});
