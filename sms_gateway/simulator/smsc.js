// A test SMSC built on node-smpp (a server implementation nobody here wrote).
//
//   node sms_gateway/simulator/smsc.js --port 2775 --control 2776 --log /tmp/smsc.jsonl \
//        --system-id sct --password secret
//
// It checks bind credentials, answers submit_sm with message ids (and delivery
// receipts when asked), can throttle every Nth submit_sm, and is driven over a
// small HTTP control API:
//   POST /deliver {source, dest, hex, data_coding, esm_class, tlvs, resend_same_sequence}  -> {status}
//   POST /config  {throttle_every, error_every, error_status, receipts, receipt_id_format}
//   POST /drop    closes every SMPP connection (link loss)
//   GET  /state   {bound}
//   GET  /log     every logged event (submits, throttles, errors)
// Every submit_sm is appended to the --log file as one JSON line, so a killed
// and restarted SMSC keeps the record.
'use strict';
const fs = require('fs');
const http = require('http');
const smpp = require('smpp');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const port = Number(args.port || 2775);
const controlPort = Number(args.control || 2776);
const logFile = args.log || '/tmp/smsc.jsonl';
const systemId = args['system-id'] || 'sct';
const password = args.password || 'secret';

const config = { throttle_every: 0, error_every: 0, error_status: 0x45, receipts: true, receipt_id_format: 'hex' };
const sessions = new Set();
let submitCount = 0;
let nextId = Number(args['first-id'] || (Date.now() % 1000000) * 1000);

// Benchmark mode: MOs generated here as fast as deliver_sm_resp come back
// (at most `window` unanswered deliver_sm), or paced at `rate` MO/s, replies matched by destination.
let bench = null;

function concat(pdu, msg) {
  if (pdu.sar_msg_ref_num !== undefined) return [pdu.sar_total_segments, pdu.sar_segment_seqnum];
  for (const u of (msg.udh || [])) { const b = Buffer.from(u); if (b[0] === 0) return [b[3], b[4]]; }
  return [1, 1];
}

function benchReply(pdu, msg) {
  const mo = bench.bySource.get(pdu.destination_addr);
  if (!mo) return;
  const [total] = concat(pdu, msg);
  mo.parts += 1;
  if (mo.parts === total && mo.done === undefined) {
    mo.done = process.hrtime.bigint();
    bench.replied += 1;
    bench.last = mo.done;
  } else if (mo.parts > total) {
    bench.duplicates += 1;
  }
}

function startBench(spec) {
  if (!sessions.size) throw new Error('no bound ESME');
  bench = { n: spec.n, window: spec.window || 10, rate: spec.rate || 0, texts: spec.texts, prefix: spec.prefix || '849', sent: 0,
    acked: 0, refused: 0, redelivered: 0, replied: 0, duplicates: 0, bySource: new Map(), start: process.hrtime.bigint(), last: null };
  let inFlight = 0;
  const rate = Number(spec.rate || 0);
  // Each MO goes to the ESME bound now; one whose deliver_sm_resp never came because the bind was
  // lost (an ESME killed, a dropped link) is delivered again on the next bind, as an SMSC does.
  const deliver = (source, text) => {
    const session = [...sessions][0];
    if (!session) { setTimeout(() => deliver(source, text), 200); return; }
    const ucs2 = /[^\x00-\x7f]/.test(text);
    const payload = ucs2 ? Buffer.from(text, 'utf16le').swap16() : Buffer.from(text, 'latin1');
    const again = () => { bench.redelivered += 1; setTimeout(() => deliver(source, text), 200); };
    session.unanswered.add(again);
    session.deliver_sm({ source_addr: source, destination_addr: '8283', data_coding: ucs2 ? 8 : 0,
      short_message: payload }, (resp) => {
      session.unanswered.delete(again);
      if (resp.command_status !== 0) {  // refused (e.g. the ESME could not store it): delivered again later
        bench.refused += 1;
        setTimeout(() => deliver(source, text), 200);
        return;
      }
      inFlight -= 1; bench.acked += 1; if (!rate) pump();
    });
  };
  const sendOne = () => {
    const i = bench.sent++;
    const source = bench.prefix + String(i).padStart(8, '0');
    bench.bySource.set(source, { sentAt: process.hrtime.bigint(), parts: 0 });
    inFlight += 1;
    deliver(source, bench.texts[i % bench.texts.length]);
  };
  const pump = () => {
    while (inFlight < bench.window && bench.sent < bench.n) sendOne();
  };
  if (!rate) { pump(); return; }
  // Paced: MO number k leaves at k / rate seconds after the start (if fewer than `window` are unanswered).
  const timer = setInterval(() => {
    const due = Math.min(bench.n, Math.floor((Number(process.hrtime.bigint() - bench.start) / 1e9) * rate) + 1);
    while (bench.sent < due && inFlight < bench.window) sendOne();
    if (bench.sent >= bench.n) clearInterval(timer);
  }, 2);
}

function benchReport() {
  if (!bench) return { running: false };
  const latencies = [];
  for (const mo of bench.bySource.values()) if (mo.done !== undefined) latencies.push(Number(mo.done - mo.sentAt) / 1e6);
  latencies.sort((a, b) => a - b);
  const pct = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.round(q * (latencies.length - 1)))] : null);
  const seconds = bench.last ? Number(bench.last - bench.start) / 1e9 : null;
  return { n: bench.n, sent: bench.sent, acked: bench.acked, refused: bench.refused, redelivered: bench.redelivered, replied: bench.replied, duplicates: bench.duplicates,
    lost: bench.n - bench.replied, seconds, per_second: seconds ? bench.replied / seconds : null,
    p50_ms: pct(0.5), p99_ms: pct(0.99) };
}

function record(entry) {
  if (bench && !args.verbose) return;  // the benchmark keeps its own counters
  fs.appendFileSync(logFile, JSON.stringify(entry) + '\n');
}

function receipt(session, submit, id) {
  const shown = config.receipt_id_format === 'dec' ? String(id) : id.toString(16);
  const stamp = new Date().toISOString().replace(/[-T:]/g, '').slice(2, 12);
  const text = `id:${shown} sub:001 dlvrd:001 submit date:${stamp} done date:${stamp} stat:DELIVRD err:000 text:`;
  session.deliver_sm({
    source_addr: submit.destination_addr,
    destination_addr: submit.source_addr,
    esm_class: 0x04,
    short_message: Buffer.from(text, 'latin1'),
    receipted_message_id: shown,
    message_state: 2,
  });
}

const server = smpp.createServer((session) => {
  let bound = false;
  const onBind = (pdu) => {
    if (pdu.system_id !== systemId || pdu.password !== password) {
      console.log('bind refused for', JSON.stringify(pdu.system_id), JSON.stringify(pdu.password));
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      setTimeout(() => session.close(), 50);
      return;
    }
    bound = true;
    sessions.add(session);
    session.send(pdu.response({ system_id: 'TESTSMSC' }));
  };
  session.on('bind_transceiver', onBind);
  session.on('bind_transmitter', onBind);
  session.on('bind_receiver', onBind);
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => { session.send(pdu.response()); session.close(); });
  session.on('submit_sm', (pdu) => {
    if (!bound) { session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS })); return; }
    submitCount += 1;
    if (config.throttle_every && submitCount % config.throttle_every === 0) {
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      record({ event: 'throttled', seq: pdu.sequence_number, time: Date.now() });
      return;
    }
    if (config.error_every && submitCount % config.error_every === 0) {
      session.send(pdu.response({ command_status: config.error_status }));
      record({ event: 'error', seq: pdu.sequence_number, status: config.error_status, time: Date.now() });
      return;
    }
    const id = nextId++;
    const msg = pdu.short_message || {};
    if (bench) benchReply(pdu, msg);
    record({
      event: 'submit', id: id.toString(16), dest: pdu.destination_addr, source: pdu.source_addr,
      data_coding: pdu.data_coding, esm_class: pdu.esm_class, registered_delivery: pdu.registered_delivery,
      text: typeof msg === 'string' ? msg : (Buffer.isBuffer(msg.message) ? msg.message.toString('latin1') : msg.message),
      udh: msg.udh ? msg.udh.map((u) => Buffer.from(u).toString('hex')) : [],
      sar: pdu.sar_msg_ref_num !== undefined ? [pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum] : null,
      time: Date.now(),
    });
    session.send(pdu.response({ message_id: id.toString(16) }));
    if (config.receipts && pdu.registered_delivery) setTimeout(() => receipt(session, pdu, id), 20);
  });
  session.unanswered = new Set();  // MOs sent on this bind whose deliver_sm_resp has not come yet
  const lost = () => {
    sessions.delete(session);
    const pending = [...session.unanswered];
    session.unanswered.clear();
    for (const again of pending) again();
  };
  session.on('close', lost);
  session.on('error', lost);
});
server.listen(port, '127.0.0.1');

function body(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data ? JSON.parse(data) : {}));
  });
}

http.createServer(async (req, res) => {
  const reply = (code, obj) => { res.writeHead(code, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(obj)); };
  try {
    if (req.method === 'GET' && req.url === '/state') return reply(200, { bound: sessions.size, submits: submitCount });
    if (req.method === 'GET' && req.url === '/log') {
      const lines = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : [];
      return reply(200, lines.map((l) => JSON.parse(l)));
    }
    if (req.method === 'POST' && req.url === '/bench') { startBench(await body(req)); return reply(200, { started: true }); }
    if (req.method === 'GET' && req.url === '/bench') return reply(200, benchReport());
    if (req.method === 'POST' && req.url === '/config') { Object.assign(config, await body(req)); return reply(200, config); }
    if (req.method === 'POST' && req.url === '/drop') {
      for (const s of sessions) s.destroy();
      sessions.clear();
      return reply(200, { dropped: true });
    }
    if (req.method === 'POST' && req.url === '/deliver') {
      const m = await body(req);
      const session = [...sessions][0];
      if (!session) return reply(503, { error: 'no bound ESME' });
      const payload = Buffer.from(m.hex, 'hex');
      const pdu = {
        source_addr: m.source, destination_addr: m.dest || '8283', data_coding: m.data_coding || 0,
        esm_class: m.esm_class || 0, ...(m.tlvs || {}),
      };
      if (payload.length > 254) { pdu.short_message = Buffer.alloc(0); pdu.message_payload = payload; }
      else pdu.short_message = payload;
      let answered = false;
      const timer = setTimeout(() => { if (!answered) reply(504, { error: 'no deliver_sm_resp' }); answered = true; }, 10000);
      session.deliver_sm(pdu, (resp) => {
        if (m.resend_same_sequence) {
          // An SMSC whose deliver_sm_resp timer expired sends the very PDU again, same sequence number
          // (on the next tick: node-smpp drops the callback of this sequence number after this one returns).
          setImmediate(() => session.deliver_sm({ ...pdu, sequence_number: resp.sequence_number }, (again) => {
            clearTimeout(timer);
            if (!answered) reply(200, { status: resp.command_status, resend_status: again.command_status });
            answered = true;
          }));
          return;
        }
        clearTimeout(timer);
        if (!answered) reply(200, { status: resp.command_status });
        answered = true;
      });
      return undefined;
    }
    return reply(404, { error: 'unknown' });
  } catch (e) {
    return reply(500, { error: String(e) });
  }
}).listen(controlPort, '127.0.0.1');
console.log(`SMSC on ${port}, control on ${controlPort}`);
