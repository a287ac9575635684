#!/usr/bin/env node
/*
 * smsc.js: a simulated SMSC (SMPP 3.4 server side) for Pigeon's tests,
 * `make run` and benchmarks, built on the npm package `smpp`.
 *
 *   node smsc.js run DIR [options]     serve; DIR gets ctl, port, received.jsonl
 *   node smsc.js CMD DIR [args]        drive a running simulator (see usage)
 *   node smsc.js bench --port P ...    a bare pipelining client: the ceiling
 *
 * docs/smsc-simulator.md says what every option and command does. The
 * control socket speaks JSON lines like pigeon-modemsim's DIR/ctl: one
 * {"cmd": ...} object per line in, one {"ok": ...} object per line out.
 */
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const smpp = require('smpp');

const ESME_ROK = 0x00;
const ESME_RMSGQFUL = 0x14;
const ESME_RTHROTTLED = 0x58;
const ESME_RBINDFAIL = 0x0d;
const ESME_RINVPASWD = 0x0e;
const ESME_RINVSYSID = 0x0f;
const ESME_RINVBNDSTS = 0x04;
const ESME_RSYSERR = 0x08;
const ESME_RINVCMDID = 0x03;

function die(msg) {
	process.stderr.write('smsc: ' + msg + '\n');
	process.exit(2);
}

function parseOpts(args, spec) {
	const o = {};
	for (let i = 0; i < args.length; i++) {
		const a = args[i];
		if (!a.startsWith('--'))
			die('unexpected argument ' + a);
		const key = a.slice(2).replace(/-/g, '_');
		if (!(key in spec))
			die('unknown option ' + a);
		if (spec[key] === 'flag') {
			o[key] = true;
		} else {
			if (i + 1 >= args.length)
				die(a + ' needs a value');
			o[key] = spec[key] === 'int' ? parseInt(args[++i], 10) : args[++i];
			if (spec[key] === 'int' && isNaN(o[key]))
				die(a + ' needs a number');
		}
	}
	return o;
}

/* ---------------------------------------------------------------- server */

function serve(dir, opts) {
	fs.mkdirSync(dir, { recursive: true });
	/* What data_coding 0 means here: GSM-7 (the package's default) or
	 * Latin-1, both ways (records and MO). */
	const latin1 = opts.default_alphabet === 'latin1';
	if (latin1)
		smpp.encodings.default = 'LATIN1';
	const cfg = {
		system_id: opts.system_id || 'pigeon',
		password: opts.password || 'secret',
		ids: opts.ids || 'hex',		/* message ids issued: hex, decimal or uuid */
		id_base: opts.id_base !== undefined ? opts.id_base : 0x3a000000,
		auto_receipt: opts.auto_receipt || '',	/* a stat, or '' = none */
		redeliver_ms: opts.redeliver_ms || 0,
		deliver_window: opts.deliver_window || 100,
	};
	let nextId = cfg.id_base;
	let recordPath = opts.record || path.join(dir, 'received.jsonl');
	/* Written before the answer goes out: a test that saw the answer
	 * finds the record (benchmarks pass --record none). */
	const record = recordPath === 'none' ? null : fs.openSync(recordPath, 'a');
	const sessions = new Set();
	const counts = { binds: 0, bind_refused: 0, submit_sm: 0, submit_ok: 0,
	    submit_error: 0, submit_unanswered: 0, deliver_sm: 0,
	    deliver_sm_resp: 0, data_sm: 0, data_sm_resp: 0, enquire_link: 0, unbind: 0, unbind_resp: 0, generic_nack: 0,
	    connections: 0, answers_lost: 0 };
	/* Faults: counters of the next N submits they apply to. */
	const fault = { throttle: 0, qfull: 0, status: 0, status_code: 0,
	    noanswer: 0, nack: 0, refuse_bind: 0, refuse_mode: '', nack_bind: 0,
	    delay_ms: 0, drop_after: 0, mute: false, raw_id: 0, raw_id_hex: '',
	    lose_answer: 0, lose_via: '', lose_keep: false };
	/* Submitted messages by id, for receipts. */
	const submitted = new Map();
	/* MO and receipts not yet answered (see deliverOne). */
	let waiting = [], waitHead = 0, pendingCount = 0;
	/* Of them, those kept to the binds of one system_type (mo.via). */
	let pinned = 0;
	let moSeq = 0;

	function rec(obj) {
		if (record !== null)
			fs.writeSync(record, JSON.stringify(obj) + '\n');
	}

	function concatOf(pdu, udhList) {
		for (const u of udhList || []) {
			if (u[0] === 0x00 && u.length >= 5)
				return { ref: u[2], total: u[3], seq: u[4] };
			if (u[0] === 0x08 && u.length >= 6)
				return { ref: u.readUInt16BE(2), total: u[4], seq: u[5] };
		}
		if (pdu.sar_msg_ref_num !== undefined)
			return { ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments,
			    seq: pdu.sar_segment_seqnum };
		return undefined;
	}

	function textOf(v) {
		if (v === undefined || v === null)
			return { text: '', udh: [] };
		if (Buffer.isBuffer(v))
			return { text: v.toString('hex'), udh: [] };
		if (typeof v === 'string')
			return { text: v, udh: [] };
		let t = v.message;
		if (Buffer.isBuffer(t))
			t = t.toString('hex');
		return { text: t || '', udh: v.udh || [] };
	}

	function issueId() {
		const n = nextId++;
		if (cfg.ids === 'decimal')
			return String(n);
		if (cfg.ids === 'uuid') {
			/* Jasmin's shape: a UUID, dashes and all. */
			const h = n.toString(16).padStart(12, '0');
			return 'f0e1d2c3-b4a5-4697-8899-' + h;
		}
		return n.toString(16);
	}

	function bound(s, mode) {
		return s.bound && (s.mode === 'transceiver' || s.mode === mode);
	}

	function receiver() {
		for (const s of sessions)
			if (bound(s, 'receiver'))
				return s;
		return null;
	}

	/* A receiver mo may go to now: bound with its system_type when it
	 * has one (mo.via), with room in its window. */
	function receiverFor(mo) {
		for (const s of sessions)
			if (bound(s, 'receiver') && s.moInflight.size < cfg.deliver_window &&
			    (mo.via === undefined || s.system_type === mo.via))
				return s;
		return null;
	}

	/* mo goes back to the queue (its session closed, or it was refused):
	 * its redeliveries go where again_via says, if it said. */
	function requeue(mo) {
		const was = mo.via !== undefined;
		if ('again_via' in mo)
			mo.via = mo.again_via;
		pinned += (mo.via !== undefined) - was;
	}

	/* fault lose_answer: whether this answer from s is to be lost. */
	function losing(s, p) {
		if (fault.lose_answer <= 0 || p.command_status !== ESME_ROK ||
		    (fault.lose_via && s.system_type !== fault.lose_via))
			return false;
		fault.lose_answer--;
		return true;
	}

	/*
	 * MO messages and receipts wait in `waiting` until a receiver is
	 * bound, then are in flight on a session (at most deliver_window
	 * unanswered each) until a deliver_sm_resp with status 0 ends them.
	 * What a closed session or a refusal leaves goes back to waiting.
	 */
	function deliverOne(s, mo) {
		s.moInflight.add(mo);
		const command = mo.command || 'deliver_sm';
		const pdu = new smpp.PDU(command, Object.assign({}, mo.fields));
		s.send(pdu, (resp) => {
			/* An answer lost (fault lose_answer): its session is
			 * closed, and the close puts it back in the queue. */
			if (resp.lost || !s.moInflight.delete(mo) || mo.done)
				return;
			if (resp.command_status === ESME_ROK) {
				mo.done = true;
				pendingCount--;
				if (mo.via !== undefined)
					pinned--;
			} else {
				requeue(mo);
				waiting.push(mo);
			}
			setImmediate(flushMo);
		});
		counts[command]++;
	}

	/* As a data_sm (c.pdu "data_sm"): the same fields but those data_sm
	 * lacks, the text in message_payload. */
	function queueMo(mo, c) {
		if (c && c.pdu === 'data_sm') {
			const f = mo.fields;
			f.message_payload = f.short_message;
			delete f.short_message;
			mo.command = 'data_sm';
		}
		/* c.via: the system_type of the binds it goes to; c.again_via:
		 * those its redeliveries go to (default: the same). */
		if (c && typeof c.via === 'string') {
			mo.via = c.via;
			pinned++;
		}
		if (c && typeof c.again_via === 'string')
			mo.again_via = c.again_via;
		pendingCount++;
		waiting.push(mo);
		flushMo();
	}

	/* Each waiting delivery kept to some binds, in order, to one of them
	 * with room; the others stay in the queue, in their order. */
	function flushPinned() {
		const rest = [];
		for (let i = waitHead; i < waiting.length; i++) {
			const s = receiverFor(waiting[i]);
			if (s !== null)
				deliverOne(s, waiting[i]);
			else
				rest.push(waiting[i]);
		}
		waiting = rest;
		waitHead = 0;
	}

	function flushMo() {
		if (pinned > 0) {
			flushPinned();
			return;
		}
		const s = receiver();
		if (s === null)
			return;
		while (waitHead < waiting.length &&
		    s.moInflight.size < cfg.deliver_window)
			deliverOne(s, waiting[waitHead++]);
		if (waitHead > 1024 && waitHead * 2 > waiting.length) {
			waiting.splice(0, waitHead);
			waitHead = 0;
		}
	}

	function respond(s, pdu, opts2) {
		const send = () => {
			if (!fault.mute)
				s.send(pdu.response(opts2));
		};
		if (fault.delay_ms > 0)
			setTimeout(send, fault.delay_ms);
		else
			send();
	}

	function onBind(s, pdu, mode) {
		let status = ESME_ROK;
		if (fault.nack_bind > 0) {
			/* An SMSC that does not know the bind's kind answers so. */
			fault.nack_bind--;
			counts.bind_refused++;
			rec({ time: new Date().toISOString(), command: pdu.command,
			    sequence: pdu.sequence_number, system_id: pdu.system_id,
			    status: 'generic_nack' });
			s.send(new smpp.PDU('generic_nack', { command_status: ESME_RINVCMDID,
			    sequence_number: pdu.sequence_number }));
			return;
		}
		if (fault.refuse_bind > 0 &&
		    (!fault.refuse_mode || fault.refuse_mode === mode)) {
			fault.refuse_bind--;
			status = ESME_RBINDFAIL;
		} else if (pdu.system_id !== cfg.system_id) {
			status = ESME_RINVSYSID;
		} else if (pdu.password !== cfg.password) {
			status = ESME_RINVPASWD;
		} else if (s.bound) {
			status = ESME_RINVBNDSTS;
		}
		rec({ time: new Date().toISOString(), command: pdu.command,
		    sequence: pdu.sequence_number, system_id: pdu.system_id,
		    system_type: pdu.system_type, status: status });
		if (status !== ESME_ROK) {
			counts.bind_refused++;
			s.send(pdu.response({ command_status: status }));
			return;
		}
		counts.binds++;
		s.bound = true;
		s.mode = mode;
		s.system_id = pdu.system_id;
		s.system_type = pdu.system_type || '';
		s.send(pdu.response({ system_id: 'pigeon-smsc' }));
		if (mode !== 'transmitter')
			setImmediate(flushMo);
	}

	function onSubmit(s, pdu) {
		counts.submit_sm++;
		const sm = textOf(pdu.short_message);
		const pl = pdu.message_payload !== undefined ?
		    textOf(pdu.message_payload) : null;
		const entry = { time: new Date().toISOString(), command: 'submit_sm',
		    sequence: pdu.sequence_number, system_id: s.system_id,
		    source: pdu.source_addr, source_ton: pdu.source_addr_ton,
		    source_npi: pdu.source_addr_npi, dest: pdu.destination_addr,
		    dest_ton: pdu.dest_addr_ton, dest_npi: pdu.dest_addr_npi,
		    data_coding: pdu.data_coding, esm_class: pdu.esm_class,
		    registered_delivery: pdu.registered_delivery,
		    /* The package reads a relative validity as now + it. */
		    validity: pdu.validity_period instanceof Date ?
		        pdu.validity_period.toISOString() : (pdu.validity_period || ''),
		    short_message: sm.text,
		    udh: sm.udh.map((u) => u.toString('hex')).join(''),
		    concat: concatOf(pdu, sm.udh) };
		if (pl !== null)
			entry.message_payload = pl.text;
		if (pdu.dest_addr_subunit !== undefined)
			entry.dest_addr_subunit = pdu.dest_addr_subunit;
		if (!s.bound || s.mode === 'receiver') {
			entry.status = ESME_RINVBNDSTS;
			rec(entry);
			respond(s, pdu, { command_status: ESME_RINVBNDSTS });
			return;
		}
		if (fault.drop_after > 0 && --fault.drop_after === 0) {
			entry.status = 'dropped';
			rec(entry);
			counts.submit_unanswered++;
			s.destroy();
			return;
		}
		let status = ESME_ROK;
		if (fault.noanswer > 0) {
			fault.noanswer--;
			entry.status = 'unanswered';
			rec(entry);
			counts.submit_unanswered++;
			return;
		} else if (fault.nack > 0) {
			fault.nack--;
			entry.status = 'generic_nack';
			rec(entry);
			counts.submit_error++;
			s.send(new smpp.PDU('generic_nack', { command_status: ESME_RSYSERR,
			    sequence_number: pdu.sequence_number }));
			return;
		} else if (fault.throttle > 0) {
			fault.throttle--;
			status = ESME_RTHROTTLED;
		} else if (fault.qfull > 0) {
			fault.qfull--;
			status = ESME_RMSGQFUL;
		} else if (fault.status > 0) {
			fault.status--;
			status = fault.status_code;
		}
		entry.status = status;
		if (status !== ESME_ROK) {
			counts.submit_error++;
			rec(entry);
			respond(s, pdu, { command_status: status });
			return;
		}
		const id = issueId();
		entry.message_id = id;
		if (fault.raw_id > 0)
			entry.message_id_hex = fault.raw_id_hex;
		rec(entry);
		counts.submit_ok++;
		submitted.set(id, { id: id, num: nextId - 1, source: pdu.source_addr,
		    dest: pdu.destination_addr, registered: pdu.registered_delivery & 3,
		    time: new Date(), receipted: false });
		if (fault.raw_id > 0) {
			/* The id as raw bytes (not ASCII, longer than 64...): the
			 * message stays addressed by the issued one here. */
			fault.raw_id--;
			const m = submitted.get(id);
			m.raw = Buffer.from(fault.raw_id_hex, 'hex');
			entry.message_id_hex = fault.raw_id_hex;
			respond(s, pdu, { message_id: m.raw });
		} else {
			respond(s, pdu, { message_id: id });
		}
		if (cfg.auto_receipt && (pdu.registered_delivery & 3))
			setImmediate(() => receipt(submitted.get(id),
			    { stat: cfg.auto_receipt }));
	}

	function smppDate(d) {
		const p = (n) => String(n).padStart(2, '0');
		return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) +
		    p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes());
	}

	const STATES = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4,
	    UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };

	/* A receipt for one submitted message; o: stat, err, text_id, tlv,
	 * tlv_only (the TLVs and an empty short_message). */
	function receipt(m, o) {
		const stat = o.stat || 'DELIVRD';
		const err = o.err || (stat === 'DELIVRD' ? '000' : '001');
		let tid = m.id;
		if (o.text_id === 'hex')
			tid = m.num.toString(16);
		else if (o.text_id === 'decimal')
			tid = String(m.num);
		const dlvrd = stat === 'DELIVRD' ? '001' : '000';
		const text = 'id:' + tid + ' sub:001 dlvrd:' + dlvrd +
		    ' submit date:' + smppDate(m.time) + ' done date:' +
		    smppDate(new Date()) + ' stat:' + stat + ' err:' + err +
		    ' text:';
		/* An id of raw bytes (fault raw_id) is written as it was issued. */
		const sm = o.tlv_only ? Buffer.alloc(0) : m.raw && tid === m.id ?
		    Buffer.concat([Buffer.from('id:', 'ascii'), m.raw,
			Buffer.from(text.slice(3 + tid.length), 'ascii')]) :
		    Buffer.from(text, 'ascii');
		const fields = { source_addr: m.dest, source_addr_ton: 1,
		    source_addr_npi: 1, destination_addr: m.source,
		    esm_class: 0x04, data_coding: 0, short_message: sm };
		if (o.tlv || o.tlv_only) {
			fields.receipted_message_id = m.raw || m.id;
			fields.message_state = STATES[stat] || 7;
		}
		m.receipted = true;
		queueMo({ fields: fields, done: false }, o);
		return text;
	}

	const GSM7 = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà\f^{}\\[~\]|€]*$/;

	/* An MO message, split in parts when long: c.coding, c.concat. */
	function moDeliver(c) {
		const text = String(c.text || '');
		let coding = c.coding || (GSM7.test(text) ? 'gsm' : 'ucs2');
		let units;
		if (coding === 'gsm') {
			/* Escapes take two septets: never split between them. */
			units = [];
			for (const ch of text)
				units.push(latin1 ? smpp.encodings.LATIN1.encode(ch) :
				    smpp.encodings.ASCII.encode(ch));
		} else {
			units = [];
			for (const ch of text)
				units.push(smpp.encodings.UCS2.encode(ch));
		}
		const single = coding === 'gsm' ? 160 : 140;
		const partCap = coding === 'gsm' ? 153 : 134;
		const total = units.reduce((a, b) => a + b.length, 0);
		const parts = [];
		if (total <= single && !c.parts) {
			parts.push(Buffer.concat(units));
		} else {
			let cur = [], len = 0;
			for (const u of units) {
				if (len + u.length > partCap) {
					parts.push(Buffer.concat(cur));
					cur = [];
					len = 0;
				}
				cur.push(u);
				len += u.length;
			}
			parts.push(Buffer.concat(cur));
		}
		const ref = c.ref !== undefined ? c.ref : (moSeq++ & 0xff);
		const concat = c.concat || 'udh';
		let order = c.reverse ? parts.map((_, i) => parts.length - 1 - i) :
		    parts.map((_, i) => i);
		/* c.only "2" or "1,3": those parts alone, the others lost (or
		 * delivered by a later call with the same ref). */
		if (c.only !== undefined) {
			const keep = String(c.only).split(',').map(Number);
			order = order.filter((i) => keep.includes(i + 1));
		}
		for (const i of order) {
			/* c.ton, c.npi: the sender's, as the SMSC writes
			 * them (TON 1 with a national number, TON 2). */
			const f = { source_addr: c.from,
			    source_addr_ton: c.ton !== undefined ? c.ton : 1,
			    source_addr_npi: c.npi !== undefined ? c.npi : 1,
			    destination_addr: c.to || '40404',
			    dest_addr_ton: 0, data_coding: coding === 'gsm' ? 0 : 8,
			    esm_class: 0 };
			let body = parts[i];
			if (parts.length > 1 && concat === 'udh') {
				f.esm_class = 0x40;
				body = Buffer.concat([Buffer.from([5, 0, 3, ref,
				    parts.length, i + 1]), body]);
			} else if (parts.length > 1) {
				f.sar_msg_ref_num = ref;
				f.sar_total_segments = parts.length;
				f.sar_segment_seqnum = i + 1;
			}
			f.short_message = body;
			queueMo({ fields: f, done: false }, c);
		}
		return parts.length;
	}

	const server = smpp.createServer((s) => {
		counts.connections++;
		sessions.add(s);
		s.bound = false;
		s.moInflight = new Set();
		s.on('error', () => {});
		s.on('close', () => {
			sessions.delete(s);
			/* Unanswered: delivered again on the next bind. */
			const back = [...s.moInflight].filter((mo) => !mo.done);
			back.forEach(requeue);
			s.moInflight.clear();
			waiting = back.concat(waiting.slice(waitHead));
			waitHead = 0;
			setImmediate(flushMo);
		});
		s.on('bind_transceiver', (p) => onBind(s, p, 'transceiver'));
		s.on('bind_transmitter', (p) => onBind(s, p, 'transmitter'));
		s.on('bind_receiver', (p) => onBind(s, p, 'receiver'));
		s.on('submit_sm', (p) => onSubmit(s, p));
		s.on('enquire_link', (p) => {
			counts.enquire_link++;
			rec({ time: new Date().toISOString(), command: 'enquire_link',
			    sequence: p.sequence_number });
			if (!fault.mute)
				s.send(p.response());
		});
		s.on('unbind', (p) => {
			counts.unbind++;
			rec({ time: new Date().toISOString(), command: 'unbind',
			    sequence: p.sequence_number });
			s.bound = false;
			s.send(p.response());
			s.close();
		});
		/* An answer lost (fault lose_answer) is recorded with `lost`,
		 * counted apart, and its session closed at once: a connection
		 * that broke with the answer on it (with keep, left open: an
		 * answer lost on the way, the delivery in flight until the
		 * session ends). The package calls the
		 * answer's callback (deliverOne) after this handler, with p. */
		const lose = (s2, p) => {
			p.lost = true;
			counts.answers_lost++;
			/* keep: lost on the way, the session left open; what
			 * it carried goes back to the queue when it closes. */
			if (!fault.lose_keep)
				s2.destroy();
		};
		s.on('deliver_sm_resp', (p) => {
			const lost = losing(s, p);
			if (!lost)
				counts.deliver_sm_resp++;
			rec(Object.assign({ time: new Date().toISOString(),
			    command: 'deliver_sm_resp', sequence: p.sequence_number,
			    status: p.command_status }, lost ? { lost: true } : {}));
			if (lost)
				lose(s, p);
		});
		s.on('data_sm_resp', (p) => {
			const lost = losing(s, p);
			if (!lost)
				counts.data_sm_resp++;
			rec(Object.assign({ time: new Date().toISOString(),
			    command: 'data_sm_resp', sequence: p.sequence_number,
			    status: p.command_status, message_id: p.message_id },
			    lost ? { lost: true } : {}));
			if (lost)
				lose(s, p);
		});
		s.on('generic_nack', (p) => {
			counts.generic_nack++;
			rec({ time: new Date().toISOString(), command: 'generic_nack',
			    sequence: p.sequence_number, status: p.command_status });
		});
		s.on('enquire_link_resp', () => {});
		s.on('unbind_resp', () => {
			counts.unbind_resp++;
			s.close();
		});
		s.on('unknown', (p) => {
			rec({ time: new Date().toISOString(), command: 'unknown',
			    command_id: p.command_id, sequence: p.sequence_number });
			s.send(p.response());
		});
	});

	if (cfg.redeliver_ms > 0)
		setInterval(() => {
			for (const s of sessions)
				for (const mo of [...s.moInflight]) {
					s.moInflight.delete(mo);
					deliverOne(s, mo);
				}
		}, cfg.redeliver_ms).unref();

	/* {"cmd":"wait","counter":NAME,"n":N,"timeout_ms":MS}: answered once
	 * the counter reaches N (checked every 2 ms), or at the timeout with
	 * ok false. One client waits instead of polling `status`: a bench
	 * polling with a node process each 50 ms spent most of a core. */
	function waitFor(c) {
		if (typeof c.counter !== 'string' || !(c.counter in counts) ||
		    !Number.isInteger(c.n))
			return { ok: false, error: 'wait needs counter (a status counter) and n' };
		const until = Date.now() + (Number.isInteger(c.timeout_ms) ? c.timeout_ms : 60000);
		return new Promise((resolve) => {
			const t = setInterval(() => {
				const n = counts[c.counter];
				if (n >= c.n || Date.now() >= until) {
					clearInterval(t);
					resolve(n >= c.n ? { ok: true, count: n } :
					    { ok: false, count: n, error: 'timeout: ' + c.counter +
					      ' is ' + n + ', not ' + c.n });
				}
			}, 2);
		});
	}

	function control(c) {
		switch (c.cmd) {
		case 'ping':
			return { ok: true };
		case 'wait':
			return waitFor(c);
		case 'status':
			return { ok: true, port: server.address().port, counts: counts,
			    pending_mo: pendingCount, sessions: [...sessions].map(
				(s) => ({ bound: s.bound, mode: s.mode || null,
				    system_type: s.system_type !== undefined ? s.system_type : null })),
			    fault: fault, submitted: submitted.size };
		case 'deliver':
			if (typeof c.from !== 'string' || c.text === undefined)
				return { ok: false, error: 'deliver needs from and text' };
			return { ok: true, parts: moDeliver(c), bound: receiver() !== null };
		case 'receipts': {
			let list = [];
			if (Array.isArray(c.ids) && c.ids.length > 0) {
				for (const id of c.ids) {
					if (!submitted.has(String(id)))
						return { ok: false, error: 'no message ' + id };
					list.push(submitted.get(String(id)));
				}
			} else {
				for (const m of submitted.values())
					if (!m.receipted && (c.all || m.registered))
						list.push(m);
			}
			const texts = list.map((m) => receipt(m, c));
			return { ok: true, receipts: list.length, texts: texts };
		}
		case 'fault': {
			const n = c.count !== undefined ? c.count : 1;
			switch (c.kind) {
			case 'throttle': fault.throttle = n; break;
			case 'qfull': fault.qfull = n; break;
			case 'status':
				fault.status = n;
				fault.status_code = c.status !== undefined ? c.status : ESME_RSYSERR;
				break;
			case 'noanswer': fault.noanswer = n; break;
			case 'nack': fault.nack = n; break;
			case 'refuse_bind':
				/* mode: only binds of that kind (a receiver, say). */
				fault.refuse_bind = n;
				fault.refuse_mode = c.mode || '';
				break;
			case 'nack_bind': fault.nack_bind = n; break;
			case 'raw_id':
				/* "" too: accepted without an id, as some SMSCs do. */
				if (typeof c.hex !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(c.hex))
					return { ok: false, error: 'raw_id needs hex (the id\'s bytes)' };
				fault.raw_id = n;
				fault.raw_id_hex = c.hex.toLowerCase();
				break;
			case 'delay': fault.delay_ms = c.ms || 0; break;
			case 'lose_answer':
				/* via: only the answers of binds of that system_type;
				 * keep: their sessions left open. */
				fault.lose_answer = n;
				fault.lose_via = typeof c.via === 'string' ? c.via : '';
				fault.lose_keep = c.keep === true;
				break;
			case 'mute': fault.mute = c.on !== false; break;
			case 'drop':
				if (c.after) {
					fault.drop_after = c.after;
				} else {
					/* mode: only the sessions bound so. */
					for (const s of sessions)
						if (!c.mode || s.mode === c.mode)
							s.destroy();
				}
				break;
			case 'unbind':
				for (const s of sessions)
					if (s.bound)
						s.unbind();
				break;
			case 'generic_nack':
				for (const s of sessions)
					s.send(new smpp.PDU('generic_nack',
					    { command_status: ESME_RSYSERR, sequence_number: 0x7fffffff }));
				break;
			case 'clear':
				Object.assign(fault, { throttle: 0, qfull: 0, status: 0,
				    noanswer: 0, nack: 0, refuse_bind: 0, refuse_mode: '',
				    nack_bind: 0, delay_ms: 0, drop_after: 0, mute: false,
				    raw_id: 0, raw_id_hex: '', lose_answer: 0, lose_via: '',
				    lose_keep: false });
				break;
			default:
				return { ok: false, error: 'unknown fault ' + c.kind };
			}
			return { ok: true, fault: fault };
		}
		case 'config':
			if (c.ids !== undefined)
				cfg.ids = ['decimal', 'uuid'].includes(c.ids) ? c.ids : 'hex';
			if (c.auto_receipt !== undefined)
				cfg.auto_receipt = c.auto_receipt;
			return { ok: true, config: cfg };
		case 'stop':
			setImmediate(() => shutdown(0));
			return { ok: true };
		default:
			return { ok: false, error: 'unknown command ' + c.cmd };
		}
	}

	const ctlPath = path.join(dir, 'ctl');
	try { fs.unlinkSync(ctlPath); } catch (e) { /* absent */ }
	const ctl = net.createServer((c) => {
		let buf = '';
		c.on('error', () => {});
		c.on('data', (d) => {
			buf += d.toString('utf8');
			let nl;
			while ((nl = buf.indexOf('\n')) !== -1) {
				const line = buf.slice(0, nl);
				buf = buf.slice(nl + 1);
				let reply;
				try {
					reply = control(JSON.parse(line));
				} catch (e) {
					reply = { ok: false, error: String(e.message || e) };
				}
				Promise.resolve(reply).then((r) => {
					if (!c.destroyed)
						c.write(JSON.stringify(r) + '\n');
				});
			}
		});
	});

	function shutdown(code) {
		try { fs.unlinkSync(ctlPath); } catch (e) { /* gone */ }
		for (const s of sessions)
			s.destroy();
		if (record !== null)
			fs.closeSync(record);
		process.exit(code);
	}
	process.on('SIGTERM', () => shutdown(0));
	process.on('SIGINT', () => shutdown(0));
	/* A parent that dies (a test killed) must not leave us behind. */
	if (opts.parent_pid)
		setInterval(() => {
			try { process.kill(opts.parent_pid, 0); } catch (e) { shutdown(0); }
		}, 500).unref();

	ctl.listen(ctlPath, () => {
		server.listen(opts.port || 0, '127.0.0.1', () => {
			const port = server.address().port;
			fs.writeFileSync(path.join(dir, 'port.tmp'), port + '\n');
			fs.renameSync(path.join(dir, 'port.tmp'), path.join(dir, 'port'));
			process.stdout.write('smsc: listening on 127.0.0.1:' + port + '\n');
		});
	});
}

/* ----------------------------------------------------------------- client */

function ctlCall(dir, obj) {
	const c = net.createConnection(path.join(dir, 'ctl'));
	let buf = '';
	c.on('error', (e) => die(path.join(dir, 'ctl') + ': ' + e.message));
	c.on('connect', () => c.write(JSON.stringify(obj) + '\n'));
	c.on('data', (d) => {
		buf += d.toString('utf8');
		if (buf.indexOf('\n') !== -1) {
			const reply = JSON.parse(buf.slice(0, buf.indexOf('\n')));
			process.stdout.write(JSON.stringify(reply) + '\n');
			c.end();
			process.exit(reply.ok ? 0 : 1);
		}
	});
}

/* Binds a transmitter and keeps `window` submit_sm in flight. With
 * `receipts`, binds a transceiver, asks a receipt for each submit and
 * answers each deliver_sm at once: the PDUs a gateway's fan-out with
 * receipts makes the simulator handle (run it with --auto-receipt). The
 * time is to the last submit_sm_resp, as the gateway's is. */
function bench(o) {
	const count = o.count || 20000, win = o.window || 100;
	const s = smpp.connect({ host: '127.0.0.1', port: o.port });
	let sent = 0, done = 0, errors = 0, receipts = 0, t0 = 0;
	s.on('error', (e) => die('bench: ' + e.message));
	s.on('deliver_sm', (pdu) => {
		receipts++;
		s.send(pdu.response());
	});
	function pump() {
		while (sent < count && sent - done < win) {
			sent++;
			s.submit_sm({ source_addr: '40404', source_addr_ton: 3,
			    destination_addr: '+212600' + String(sent).padStart(6, '0'),
			    registered_delivery: o.receipts ? 1 : 0,
			    short_message: 'bench message ' + sent }, (r) => {
				done++;
				if (r.command_status !== 0)
					errors++;
				if (done === count) {
					const secs = (Date.now() - t0) / 1000;
					process.stdout.write(JSON.stringify({ submits: count,
					    window: win, receipts_asked: !!o.receipts,
					    receipts: receipts, seconds: secs, errors: errors,
					    per_second: Math.round(count / secs) }) + '\n');
					s.unbind(() => s.close());
					setTimeout(() => process.exit(0), 200).unref();
				} else {
					pump();
				}
			});
		}
	}
	const bind = o.receipts ? s.bind_transceiver.bind(s) : s.bind_transmitter.bind(s);
	bind({ system_id: o.system_id || 'pigeon',
	    password: o.password || 'secret' }, (r) => {
		if (r.command_status !== 0)
			die('bench: bind refused, status ' + r.command_status);
		t0 = Date.now();
		pump();
	});
	setTimeout(() => die('bench: not done after 300 s'), 300000).unref();
}

/* ISO 8601 in local time with its offset, as pigeon-modemsim writes it, so
 * that the two sort together. */
function localTime(iso) {
	const d = new Date(iso);
	const p = (n) => String(n).padStart(2, '0');
	const off = -d.getTimezoneOffset();
	return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) +
	    'T' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()) +
	    (off < 0 ? '-' : '+') + p(Math.floor(Math.abs(off) / 60)) + ':' +
	    p(Math.abs(off) % 60);
}

/*
 * `sent DIR [NUMBER]`: what the SMSC accepted (submit_sm answered 0), to
 * NUMBER (with or without '+') or to anyone, one message a line as
 * "time<TAB>to<TAB>text" (local time, as pigeon-modemsim's), a message in
 * parts joined once its last part came, timed by it: what scripts/phone
 * shows beside the modems' SMS.
 */
function sentPrint(dir, number) {
	const file = path.join(dir, 'received.jsonl');
	let lines;
	try {
		lines = fs.readFileSync(file, 'utf8').split('\n');
	} catch (e) {
		die(file + ': ' + e.message);
	}
	const want = number === undefined ? null : number.replace(/^\+/, '');
	const open = new Map();
	for (const l of lines) {
		let r;
		try { r = JSON.parse(l); } catch (e) { continue; }
		if (r.command !== 'submit_sm' || r.status !== 0 ||
		    (want !== null && r.dest !== want))
			continue;
		let text = r.message_payload !== undefined ? r.message_payload :
		    (r.short_message || '');
		const c = r.concat;
		if (c && c.total > 1) {
			const key = r.dest + '/' + c.ref + '/' + c.total;
			const g = open.get(key) || { parts: [], have: 0 };
			if (g.parts[c.seq] === undefined)
				g.have++;
			g.parts[c.seq] = text;
			open.set(key, g);
			if (g.have < c.total)
				continue;
			open.delete(key);
			text = g.parts.join('');
		}
		process.stdout.write(localTime(r.time) + '\t+' + r.dest + '\t' +
		    text.replace(/[\r\n\t]/g, ' ') + '\n');
	}
}

function usage() {
	process.stderr.write(`usage:
  smsc run DIR [--port N] [--system-id ID] [--password PW] [--ids hex|decimal|uuid]
               [--id-base N] [--auto-receipt STAT] [--redeliver-ms N]
               [--record FILE|none] [--parent-pid PID] [--deliver-window N]
               [--default-alphabet gsm|latin1]
  smsc deliver DIR FROM TEXT [--to ADDR] [--coding gsm|ucs2] [--concat udh|sar]
               [--ref N] [--reverse] [--only N[,N...]] [--pdu deliver_sm|data_sm]
               [--via SYSTEM_TYPE] [--again-via SYSTEM_TYPE]
  smsc receipts DIR [ID...] [--stat STAT] [--err NNN] [--text-id same|hex|decimal]
               [--tlv] [--tlv-only] [--all] [--pdu deliver_sm|data_sm]
               [--via SYSTEM_TYPE] [--again-via SYSTEM_TYPE]
  smsc fault DIR KIND [N]      KIND: throttle qfull noanswer nack refuse_bind nack_bind
                               (next N submits or binds), status N CODE,
                               raw_id HEX [N], lose_answer [N [SYSTEM_TYPE]],
                               delay MS, drop [AFTER], unbind, generic_nack,
                               mute on|off, clear
  smsc config DIR [--ids hex|decimal|uuid] [--auto-receipt STAT|'']
  smsc status DIR | stop DIR
  smsc wait DIR COUNTER N [--timeout-ms MS]   until a status counter is N
  smsc sent DIR [NUMBER]       accepted messages: time, to, text (parts joined)
  smsc bench --port N [--count N] [--window N] [--system-id ID] [--password PW]
             [--receipts]
`);
	process.exit(2);
}

function main(argv) {
	const cmd = argv[0];
	if (cmd === undefined)
		usage();
	if (cmd === 'bench') {
		bench(parseOpts(argv.slice(1), { port: 'int', count: 'int',
		    window: 'int', system_id: 's', password: 's', receipts: 'flag' }));
		return;
	}
	const dir = argv[1];
	if (dir === undefined)
		usage();
	const rest = argv.slice(2);
	const pos = rest.filter((a, i) => !a.startsWith('--') &&
	    (i === 0 || !rest[i - 1].startsWith('--') ||
	     ['--tlv', '--tlv-only', '--all', '--reverse'].includes(rest[i - 1])));
	const flags = rest.filter((a) => !pos.includes(a));
	switch (cmd) {
	case 'run':
		serve(dir, parseOpts(rest, { port: 'int', system_id: 's',
		    password: 's', ids: 's', id_base: 'int', auto_receipt: 's',
		    redeliver_ms: 'int', record: 's', parent_pid: 'int',
		    deliver_window: 'int', default_alphabet: 's' }));
		return;
	case 'deliver': {
		if (pos.length !== 2)
			usage();
		const o = parseOpts(flags, { to: 's', coding: 's', concat: 's',
		    ref: 'int', reverse: 'flag', only: 's', pdu: 's', ton: 'int',
		    npi: 'int', via: 's', again_via: 's' });
		ctlCall(dir, Object.assign({ cmd: 'deliver', from: pos[0],
		    text: pos[1] }, o));
		return;
	}
	case 'receipts': {
		const o = parseOpts(flags, { stat: 's', err: 's', text_id: 's',
		    tlv: 'flag', tlv_only: 'flag', all: 'flag', pdu: 's', via: 's',
		    again_via: 's' });
		ctlCall(dir, Object.assign({ cmd: 'receipts', ids: pos }, o));
		return;
	}
	case 'fault': {
		const kind = pos[0];
		const c = { cmd: 'fault', kind: kind };
		if (kind === 'raw_id') {
			c.hex = pos[1];
			pos.splice(1, 1);
		}
		if (kind === 'delay')
			c.ms = parseInt(pos[1] || '0', 10);
		else if (kind === 'mute')
			c.on = pos[1] !== 'off';
		else if (kind === 'drop')
			c.after = pos[1] ? parseInt(pos[1], 10) : 0;
		else if (pos[1] !== undefined)
			c.count = parseInt(pos[1], 10);
		if (kind === 'lose_answer' && pos[2] !== undefined)
			c.via = pos[2];
		if (kind === 'status')
			c.status = parseInt(pos[2] || '8', 0);
		ctlCall(dir, c);
		return;
	}
	case 'config': {
		const o = parseOpts(flags, { ids: 's', auto_receipt: 's' });
		ctlCall(dir, Object.assign({ cmd: 'config' }, o));
		return;
	}
	case 'wait': {
		if (pos.length !== 2)
			usage();
		const o = parseOpts(flags, { timeout_ms: 'int' });
		ctlCall(dir, Object.assign({ cmd: 'wait', counter: pos[0],
		    n: parseInt(pos[1], 10) }, o));
		return;
	}
	case 'status':
	case 'stop':
		ctlCall(dir, { cmd: cmd });
		return;
	case 'sent':
		sentPrint(dir, pos[0]);
		return;
	default:
		usage();
	}
}

main(process.argv.slice(2));
