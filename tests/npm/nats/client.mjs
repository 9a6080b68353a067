// An independent NATS client for tests/sink_nats_test.sh: the official
// nats.js (@nats-io/transport-node, @nats-io/jetstream), not our code.
//   node client.mjs stream-add URL NAME SUBJECT REPLICAS DUPLICATE_WINDOW_S
//   node client.mjs stream-dump URL NAME        every message, oldest first
//   node client.mjs sub URL SUBJECT COUNT READY_FILE   core subscriber
//   node client.mjs pub URL SUBJECT DATA                one core message
//   node client.mjs nkey-gen -      a user NKey: public key, then seed
//   node client.mjs creds-gen DIR   an operator, an account and a user (JWTs
//     signed with nats.js' nkeys, the NATS JWT v2 claims): DIR/server.conf
//     for an operator-mode server, DIR/user.creds, and DIR/stranger.creds
//     (a user of an account the server does not know)
// TLS from NRO_TEST_TLS_CA, NRO_TEST_TLS_CERT, NRO_TEST_TLS_KEY when set,
// a .creds file from NRO_TEST_CREDS.
// Messages are printed as JSON lines:
//   {"seq":1,"subject":"nro.n1.event.X","headers":{"Nats-Msg-Id":"..."},
//    "data":"<UTF-8 payload>","data_b64":"<the same, base64>"}
import { readFileSync, writeFileSync } from "node:fs";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { createAccount, createOperator, createUser } from "@nats-io/nkeys";
import { createHash } from "node:crypto";

function line(seq, m) {
	const headers = {};
	const h = m.headers || m.header;
	if (h) for (const [k, v] of h) headers[k] = v.join(",");
	const data = Buffer.from(m.data);
	return JSON.stringify({
		seq, subject: m.subject, headers,
		data: data.toString("utf8"), data_b64: data.toString("base64"),
	});
}

async function streamAdd(nc, [name, subject, replicas, dupS]) {
	const jsm = await jetstreamManager(nc);
	await jsm.streams.add({
		name, subjects: [subject], num_replicas: Number(replicas),
		duplicate_window: Number(dupS) * 1e9, storage: "file",
	});
}

// A cluster that just lost a server may take a moment to answer: retry.
async function retry(what) {
	for (let i = 0; ; i++) {
		try {
			return await what();
		} catch (e) {
			if (i >= 10 || !/timeout|no responders/i.test(e.message)) throw e;
			await new Promise((r) => setTimeout(r, 500));
		}
	}
}

async function streamDump(nc, [name]) {
	const jsm = await jetstreamManager(nc, { timeout: 10000 });
	const info = await retry(() => jsm.streams.info(name));
	const out = [];
	for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages; seq++) {
		const sm = await retry(() => jsm.streams.getMessage(name, { seq }));
		if (sm) out.push(line(seq, sm));
	}
	if (out.length) process.stdout.write(out.join("\n") + "\n");
}

async function sub(nc, [subject, count, readyFile]) {
	const s = nc.subscribe(subject, { max: Number(count) });
	await nc.flush();
	writeFileSync(readyFile, "ready\n");
	let n = 0;
	for await (const m of s) process.stdout.write(line(++n, m) + "\n");
}

const b64url = (b) => Buffer.from(b).toString("base64url");

// A NATS JWT (v2): header and claims signed by the issuer's key.
function jwt(issuer, subject, name, nats) {
	const claims = { iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats };
	claims.jti = createHash("sha256").update(JSON.stringify(claims)).digest("base64url");
	const head = b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" })) + "." + b64url(JSON.stringify(claims));
	return head + "." + b64url(issuer.sign(Buffer.from(head)));
}

const unlimited = { subs: -1, data: -1, payload: -1 };
function account(op, acct) {
	return jwt(op, acct.getPublicKey(), "NRO", {
		limits: { ...unlimited, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 },
		default_permissions: { pub: {}, sub: {} }, type: "account", version: 2,
	});
}

function creds(acct, user) {
	const u = jwt(acct, user.getPublicKey(), "sink-nats", { pub: {}, sub: {}, ...unlimited, type: "user", version: 2 });
	return `-----BEGIN NATS USER JWT-----\n${u}\n------END NATS USER JWT------\n\n` +
		`-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(user.getSeed())}\n------END USER NKEY SEED------\n`;
}

function credsGen(dir) {
	const op = createOperator(), acct = createAccount(), other = createAccount();
	writeFileSync(`${dir}/operator.jwt`, jwt(op, op.getPublicKey(), "nro-test", { type: "operator", version: 2 }));
	writeFileSync(`${dir}/account.jwt`, account(op, acct));
	writeFileSync(`${dir}/server.conf`, `operator: "${dir}/operator.jwt"\nresolver: MEMORY\n` +
		`resolver_preload: { ${acct.getPublicKey()}: "${account(op, acct)}" }\n`);
	writeFileSync(`${dir}/user.creds`, creds(acct, createUser()));
	writeFileSync(`${dir}/stranger.creds`, creds(other, createUser()));
}

const [cmd, url, ...args] = process.argv.slice(2);
if (cmd === "creds-gen") {
	credsGen(url);
	process.exit(0);
}
if (cmd === "nkey-gen") {
	const kp = createUser();
	const dec = new TextDecoder();
	process.stdout.write(`${kp.getPublicKey()}\n${dec.decode(kp.getSeed())}\n`);
	process.exit(0);
}
async function pub(nc, [subject, data]) {
	nc.publish(subject, data);
	await nc.flush();
}

const cmds = { "stream-add": streamAdd, "stream-dump": streamDump, sub, pub };
if (!cmds[cmd]) {
	console.error(`usage: client.mjs ${Object.keys(cmds).join("|")} URL ...`);
	process.exit(100);
}
const env = process.env;
const tls = env.NRO_TEST_TLS_CA
	? { caFile: env.NRO_TEST_TLS_CA, certFile: env.NRO_TEST_TLS_CERT, keyFile: env.NRO_TEST_TLS_KEY }
	: undefined;
const authenticator = env.NRO_TEST_CREDS
	? credsAuthenticator(readFileSync(env.NRO_TEST_CREDS))
	: undefined;
const nc = await connect({ servers: url.split(","), maxReconnectAttempts: 10, tls, authenticator });
try {
	await cmds[cmd](nc, args);
} catch (e) {
	console.error(`client.mjs ${cmd}: ${e.message}`);
	process.exitCode = 1;
}
await nc.drain();
