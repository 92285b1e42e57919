// Presence with a dozen members, each on its own connection as a real audience would be:
// enter, get, update, leave, and the SYNC a late joiner receives.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Clients,
  TEST_TIMEOUT_MS,
  channelName,
  deadline,
  subscribePresence,
} from './lib.mjs';

const MEMBERS = 12;
const options = { timeout: TEST_TIMEOUT_MS };

function memberData(i) {
  return { name: `Member ${i}`, seat: i };
}

/** `presence.get()` result as a map clientId → data, failing on duplicates. */
async function presentMembers(channel, what) {
  const members = await deadline(channel.presence.get(), what);
  const byClientId = new Map(members.map((member) => [member.clientId, member.data]));
  assert.equal(byClientId.size, members.length, `${what}: a clientId is listed twice`);
  return byClientId;
}

test('12 members: enter, get, SYNC for a late joiner, update, leave', options, async () => {
  const clients = new Clients();
  try {
    const name = channelName('presence');
    const observer = clients.realtime({ clientId: 'observer' });
    const observerChannel = observer.channels.get(name);
    const events = await subscribePresence(observerChannel);

    const members = Array.from({ length: MEMBERS }, (_, i) => {
      const client = clients.realtime({ clientId: `member-${i}` });
      return client.channels.get(name);
    });
    await deadline(
      Promise.all(members.map((channel, i) => channel.presence.enter(memberData(i)))),
      `${MEMBERS} presence enters`,
    );
    await events.until(
      (items) => items.filter((event) => event.action === 'enter').length === MEMBERS,
      `${MEMBERS} enter events at the observer`,
    );

    const seen = await presentMembers(observerChannel, 'presence.get() at the observer');
    assert.equal(seen.size, MEMBERS);
    for (let i = 0; i < MEMBERS; i++) {
      assert.deepEqual(seen.get(`member-${i}`), memberData(i), `data of member-${i}`);
    }

    // A client attaching only now learns the whole set from the hub's SYNC.
    const lateJoiner = clients.realtime({ clientId: 'late-joiner' });
    const lateChannel = lateJoiner.channels.get(name);
    const lateEvents = await subscribePresence(lateChannel);
    const synced = await presentMembers(lateChannel, 'presence.get() after SYNC');
    assert.deepEqual(
      [...synced.keys()].sort(),
      Array.from({ length: MEMBERS }, (_, i) => `member-${i}`).sort(),
    );
    for (let i = 0; i < MEMBERS; i++) {
      assert.deepEqual(synced.get(`member-${i}`), memberData(i), `synced data of member-${i}`);
    }

    const updated = { name: 'Member 3', seat: 3, viewing: true };
    await deadline(members[3].presence.update(updated), 'presence update of member-3');
    for (const [who, inbox] of [['observer', events], ['late joiner', lateEvents]]) {
      const [update] = (
        await inbox.until(
          (items) => items.some((event) => event.action === 'update'),
          `member-3's update at the ${who}`,
        )
      ).filter((event) => event.action === 'update');
      assert.equal(update.clientId, 'member-3');
      assert.deepEqual(update.data, updated);
    }

    await deadline(members[5].presence.leave(), 'presence leave of member-5');
    for (const [who, inbox] of [['observer', events], ['late joiner', lateEvents]]) {
      const [leave] = (
        await inbox.until(
          (items) => items.some((event) => event.action === 'leave'),
          `member-5's leave at the ${who}`,
        )
      ).filter((event) => event.action === 'leave');
      assert.equal(leave.clientId, 'member-5');
    }

    const remaining = await presentMembers(lateChannel, 'presence.get() after update and leave');
    assert.equal(remaining.size, MEMBERS - 1);
    assert.equal(remaining.has('member-5'), false, 'member-5 is still present');
    assert.deepEqual(remaining.get('member-3'), updated);
  } finally {
    clients.close();
  }
});
