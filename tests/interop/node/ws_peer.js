"use strict"
/*
 * A classic-socket peer on Node's zeromq 6.x (libzmq 4.3.5 with ws support) for
 * tests/interop/test_ws_interop.py: the line protocol of peer.js (read there), plus
 * what the ws tests need and peer.js lacks: SUB subscriptions, multipart messages
 * and socket options.
 *
 *   node --no-warnings ws_peer.js TYPE (bind|connect) ENDPOINT [OPTIONS_JSON]
 *
 * TYPE is PUSH, PULL, REQ, REP, PUB, SUB, DEALER, ROUTER or PAIR. OPTIONS_JSON sets
 * zeromq.js socket options before bind/connect, e.g. {"heartbeatInterval": 50}.
 * Prints `READY <endpoint>` (the resolved one for a bind) or `FAILED <message>`.
 *
 * Then one JSON command per stdin line, one JSON reply per stdout line:
 *   {"op":"send","frames":[B64,...]}            -> {"ok":true}
 *   {"op":"recv","timeout":MS}                  -> {"data":B64,"frames":[B64,...]}
 *   {"op":"echo","count":N}                     -> {"ok":true,"count":N}
 *   {"op":"subscribe","topic":B64}              -> {"ok":true}
 *   {"op":"close"}                              -> {"ok":true}, then exit
 * A receive or send that waited `timeout` ms (5000 by default) answers
 * {"error":"timeout"}.
 */

const readline = require("readline")
const zmq = require("zeromq")

const DEFAULT_TIMEOUT_MS = 5000
const LINGER_MS = 1000

const TYPES = {
  PUSH: zmq.Push,
  PULL: zmq.Pull,
  REQ: zmq.Request,
  REP: zmq.Reply,
  PUB: zmq.Publisher,
  SUB: zmq.Subscriber,
  DEALER: zmq.Dealer,
  ROUTER: zmq.Router,
  PAIR: zmq.Pair,
}

function describe(err) {
  if (err && (err.code === "EAGAIN" || err.errno === 11)) {
    return "timeout"
  }
  return err && err.code ? `${err.code}: ${err.message}` : String(err)
}

async function handle(sock, cmd) {
  const timeout = cmd.timeout === undefined ? DEFAULT_TIMEOUT_MS : cmd.timeout
  switch (cmd.op) {
    case "send":
      sock.sendTimeout = timeout
      await sock.send(cmd.frames.map((f) => Buffer.from(f, "base64")))
      return { ok: true }
    case "recv": {
      sock.receiveTimeout = timeout
      const frames = await sock.receive()
      return { data: frames[0].toString("base64"), frames: frames.map((f) => f.toString("base64")) }
    }
    case "echo":
      sock.receiveTimeout = timeout
      sock.sendTimeout = timeout
      for (let i = 0; i < cmd.count; i++) {
        await sock.send(await sock.receive())
      }
      return { ok: true, count: cmd.count }
    case "subscribe":
      sock.subscribe(Buffer.from(cmd.topic, "base64"))
      return { ok: true }
    case "close":
      return { ok: true, close: true }
    default:
      return { error: `unknown op ${JSON.stringify(cmd.op)}` }
  }
}

async function main() {
  const [typeName, mode, endpoint, optionsJson] = process.argv.slice(2)
  const Type = TYPES[typeName]
  if (!Type || !["bind", "connect"].includes(mode) || !endpoint) {
    process.stdout.write(`FAILED usage: ws_peer.js TYPE (bind|connect) ENDPOINT [OPTIONS]\n`)
    process.exit(2)
  }
  let sock
  try {
    sock = new Type({ linger: LINGER_MS, ...JSON.parse(optionsJson || "{}") })
    if (mode === "bind") {
      await sock.bind(endpoint)
      process.stdout.write(`READY ${sock.lastEndpoint}\n`)
    } else {
      sock.connect(endpoint)
      process.stdout.write(`READY ${endpoint}\n`)
    }
  } catch (err) {
    process.stdout.write(`FAILED ${describe(err)}\n`)
    process.exit(1)
  }

  const rl = readline.createInterface({ input: process.stdin, terminal: false })
  const lines = rl[Symbol.asyncIterator]()
  for (;;) {
    const { value: line, done } = await lines.next()
    if (done) break
    if (!line.trim()) continue
    let reply
    try {
      reply = await handle(sock, JSON.parse(line))
    } catch (err) {
      reply = { error: describe(err) }
    }
    const close = reply.close
    delete reply.close
    process.stdout.write(JSON.stringify(reply) + "\n")
    if (close) break
  }
  rl.close()
  process.stdin.destroy()
  sock.close()
  setTimeout(() => process.exit(0), LINGER_MS + 2000).unref()
}

main().catch((err) => {
  process.stdout.write(`FAILED ${describe(err)}\n`)
  process.exit(1)
})
