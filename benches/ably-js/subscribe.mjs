// The ably-js subscriber of `brokerdash bench run --compare ably-js`: the official SDK, on the
// JSON protocol, attaches conversation:0 … conversation:{N-1} on the scripted server, counts
// every `message:user` until `bench:end` has arrived on every channel, and prints one JSON
// line with the same fields as `brokerdash bench subscribe`.
//
// Usage: node subscribe.mjs --port PORT --channels N [--timeout-secs S]

import Ably from 'ably';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .flatMap((arg, index, all) => (arg.startsWith('--') ? [[arg.slice(2), all[index + 1]]] : [])),
);
const port = Number(args.port);
const channels = Number(args.channels);
const timeoutSecs = Number(args['timeout-secs'] ?? 120);
if (!port || !channels) {
  console.error('usage: node subscribe.mjs --port PORT --channels N [--timeout-secs S]');
  process.exit(2);
}

const END_EVENT = 'bench:end';
const ERRORS_KEPT = 20;
const started = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
const errors = [];
let errorCount = 0;
const error = (text) => {
  errorCount += 1;
  if (errors.length < ERRORS_KEPT) errors.push(text);
};

let connectNs = null;
let attachNs = null;
let attachStarted = null;
let phaseStart = null;
let cpuPhaseStart = null;
let expected = 0;
let received = 0;
let duplicates = 0;
let reordered = 0;
let unstamped = 0;
let firstRx = null;
let lastRx = null;
const seen = new Set();
const lastOnChannel = new Map();
const latencies = [];
const ended = new Set();
let attached = 0;

const client = new Ably.Realtime({
  key: 'bench.ablyjs:secret',
  endpoint: '127.0.0.1',
  port,
  tls: false,
  useBinaryProtocol: false,
  echoMessages: false,
});

function onMessage(channel, message) {
  if (message.name === END_EVENT) {
    const total = Number(message.data?.total);
    if (Number.isFinite(total)) expected = Math.max(expected, total);
    ended.add(channel);
    if (phaseStart !== null && ended.size >= attached) finish(true);
    return;
  }
  if (message.name !== 'message:user') return;
  const now = process.hrtime.bigint();
  const data = message.data ?? {};
  const sequence = Number(String(data.messageId ?? '').replace(/^msg-/, ''));
  if (!Number.isInteger(sequence)) {
    error(`unexpected messageId ${JSON.stringify(data.messageId)}`);
    return;
  }
  firstRx ??= now;
  lastRx = now;
  if (seen.has(sequence)) {
    duplicates += 1;
    return;
  }
  seen.add(sequence);
  received += 1;
  const previous = lastOnChannel.get(channel);
  if (previous !== undefined && sequence < previous) reordered += 1;
  lastOnChannel.set(channel, sequence);
  try {
    latencies.push(Number(now - BigInt(data.sentNs)) / 1e6);
  } catch {
    unstamped += 1;
  }
}

client.connection.once('connected', () => {
  const now = process.hrtime.bigint();
  connectNs = now - started;
  attachStarted = now;
  for (let index = 0; index < channels; index += 1) {
    const name = `conversation:${index}`;
    const channel = client.channels.get(name);
    channel
      .subscribe((message) => onMessage(name, message))
      .then(() => {
        attached += 1;
        if (attached === channels) {
          console.error(`bench subscribe: ${attached} channels settled`);
          phaseStart = process.hrtime.bigint();
          attachNs = phaseStart - attachStarted;
          cpuPhaseStart = process.cpuUsage();
        }
      })
      .catch((reason) => error(`${name} failed: ${reason?.message ?? reason}`));
  }
});
client.connection.on('failed', (change) => {
  error(`connection failed: ${change.reason?.message ?? ''}`);
  finish(false);
});

const timer = setTimeout(() => {
  error(`timed out after ${timeoutSecs} s`);
  finish(false);
}, timeoutSecs * 1000);

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

const round3 = (value) => Math.round(value * 1000) / 1000;
const cpuSeconds = (usage) => (usage.user + usage.system) / 1e6;

let finished = false;
function finish(completed) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  const end = process.hrtime.bigint();
  const phaseNs = phaseStart === null ? 0n : end - phaseStart;
  const cpuPhase = cpuPhaseStart === null ? 0 : cpuSeconds(process.cpuUsage(cpuPhaseStart));
  const cpuTotal = cpuSeconds(process.cpuUsage(cpuStart));
  latencies.sort((a, b) => a - b);
  let lat = null;
  if (latencies.length > 0) {
    lat = {
      p50: round3(percentile(latencies, 50)),
      p95: round3(percentile(latencies, 95)),
      p99: round3(percentile(latencies, 99)),
      max: round3(latencies[latencies.length - 1]),
    };
    if (unstamped > 0) error(`${unstamped} of ${received} messages carried no readable sentNs`);
  } else if (received > 0) {
    error(`no latency measured: none of the ${received} messages carried a readable sentNs`);
  } else if (expected > 0) {
    error(`no latency measured: none of the ${expected} messages expected arrived`);
  }
  const ms = (ns) => (ns === null ? null : round3(Number(ns) / 1e6));
  const rxNs = firstRx === null ? 0n : lastRx - firstRx;
  const phaseSecs = Number(phaseNs) / 1e9;
  if (errorCount > errors.length) errors.push(`… and ${errorCount - errors.length} more errors`);
  const line = {
    client: 'ably-js',
    version: Ably.Realtime.version ?? null,
    channels,
    attached,
    connections: 1,
    connect_ms: ms(connectNs),
    attach_ms: ms(attachNs),
    expected,
    received,
    lost: Math.max(0, expected - received),
    duplicates,
    reordered,
    lat_ms: lat,
    rx_ms: ms(rxNs),
    rx_rate: rxNs > 0n ? round3(received / (Number(rxNs) / 1e9)) : null,
    phase_ms: ms(phaseNs),
    cpu_phase_s: round3(cpuPhase),
    cpu_phase_pct: phaseSecs > 0 ? round3((100 * cpuPhase) / phaseSecs) : null,
    cpu_s: round3(cpuTotal),
    msgs_per_cpu_s: cpuPhase > 0 && received > 0 ? round3(received / cpuPhase) : null,
    peak_rss_mb: round3(process.resourceUsage().maxRSS / 1024),
    errors,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  client.close();
  process.exitCode = completed && errorCount === 0 ? 0 : 1;
  // The SDK's timers would keep the process alive after close.
  setTimeout(() => process.exit(), 50).unref();
}
