"use strict"
/*
 * A line-protocol peer on Node's zeromq 6.x (libzmq 4.3.5 built with the draft API),
 * driven by tests/interop/nodepeer.py so trinq's tests can talk to draft libzmq sockets.
 *
 *   node --no-warnings peer.js TYPE (bind|connect) ENDPOINT
 *
 * TYPE is SERVER, CLIENT, RADIO, DISH, SCATTER, GATHER, PEER or CHANNEL (a classic
 * type such as REP or PUB also works, for mismatch tests). Once bound or connected
 * the peer prints one line, `READY <endpoint>` (for a bind, the resolved endpoint:
 * port 0 gives the real port); a setup failure prints `FAILED <message>` and exits 1.
 *
 * Then stdin carries one JSON object per line and every one is answered, in order,
 * with exactly one JSON line on stdout: `{"ok":true}`, a result, or `{"error":"..."}`
 * (`{"error":"timeout"}` when a receive or a send waited `timeout` ms, 5000 by default).
 * Data travels as base64.
 *
 *   {"op":"send","data":B64,"routing_id":N,"group":G}  -> {"ok":true}
 *       routing_id is needed on SERVER, group on RADIO
 *   {"op":"send_many","data":[B64,...],"group":G}      -> {"ok":true,"count":N}
 *   {"op":"recv","timeout":MS}  -> {"data":B64,"routing_id":N|null,"group":G|null}
 *   {"op":"recv_many","count":N,"timeout":MS}  -> {"messages":[{...},...]}
 *   {"op":"echo","count":N}     -> {"ok":true,"count":N}: receives N messages and sends
 *       each back (SERVER: to the routing id it came from)
 *   {"op":"join","group":G}, {"op":"leave","group":G}  -> {"ok":true}   (DISH)
 *   {"op":"bind","endpoint":E}  -> {"endpoint":RESOLVED}
 *   {"op":"connect","endpoint":E}, {"op":"disconnect","endpoint":E},
 *   {"op":"unbind","endpoint":E}  -> {"ok":true}
 *   {"op":"info"}  -> {"type":T,"version":"4.3.5","capability":{...}}
 *   {"op":"close"} -> {"ok":true}, then the socket closes and the process exits
 *
 * What zeromq 6.x can do per type: SERVER, CLIENT, RADIO, DISH, SCATTER and GATHER
 * are its own (zeromq/draft) classes. CHANNEL (20) and PEER (19) are not exported;
 * they are the native Socket with that type number. The binding only passes routing
 * ids for SERVER (receive metadata, send option) and groups for RADIO/DISH, so a
 * PEER here can receive (its routing_id comes back null) but cannot send (libzmq
 * needs a routing id, the binding cannot set one: EHOSTUNREACH), and there is no
 * zmq_connect_peer (a plain connect is used). CHANNEL works fully.
 *
 * The process exits on stdin EOF (after the op in progress) and never waits longer
 * than a timeout on anything. On close or EOF the socket gets its linger (1000 ms) to
 * deliver what is still queued, then the process exits.
 */

const readline = require("readline")
const zmq = require("zeromq")
const draft = require("zeromq/draft")
const { Socket } = require("zeromq/lib/native")

const DEFAULT_TIMEOUT_MS = 5000
const LINGER_MS = 1000
const ZMQ_RCVTIMEO = 27
const ZMQ_SNDTIMEO = 28
const ZMQ_LINGER = 17

class Peer extends Socket {
  constructor(options) {
    super(19, options)
  }
}

class Channel extends Socket {
  constructor(options) {
    super(20, options)
  }
}

const TYPES = {
  SERVER: draft.Server,
  CLIENT: draft.Client,
  RADIO: draft.Radio,
  DISH: draft.Dish,
  GATHER: draft.Gather,
  SCATTER: draft.Scatter,
  PEER: Peer,
  CHANNEL: Channel,
  PAIR: zmq.Pair,
  PUB: zmq.Publisher,
  SUB: zmq.Subscriber,
  REQ: zmq.Request,
  REP: zmq.Reply,
  DEALER: zmq.Dealer,
  ROUTER: zmq.Router,
  PULL: zmq.Pull,
  PUSH: zmq.Push,
}

function write(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n")
}

function isTimeout(err) {
  return err && (err.code === "EAGAIN" || err.errno === 11)
}

function describe(err) {
  if (isTimeout(err)) {
    return "timeout"
  }
  return err && err.code ? `${err.code}: ${err.message}` : String(err)
}

async function receive(sock, timeout) {
  sock.setInt32Option(ZMQ_RCVTIMEO, timeout)
  const parts = await Socket.prototype.receive.call(sock)
  const out = { data: parts[0].toString("base64"), routing_id: null, group: null }
  const meta = parts.find((p) => p && !Buffer.isBuffer(p) && typeof p === "object")
  if (meta && meta.routingId !== undefined) {
    out.routing_id = meta.routingId
  }
  if (meta && meta.group !== undefined) {
    out.group = Buffer.from(meta.group).toString("utf8")
  }
  if (parts.filter((p) => Buffer.isBuffer(p)).length > 1) {
    out.frames = parts.filter((p) => Buffer.isBuffer(p)).map((p) => p.toString("base64"))
  }
  return out
}

async function send(sock, typeName, data, routingId, group, timeout) {
  sock.setInt32Option(ZMQ_SNDTIMEO, timeout)
  const msg = Buffer.from(data, "base64")
  const send = Socket.prototype.send
  if (typeName === "SERVER") {
    await send.call(sock, msg, { routingId })
  } else if (typeName === "RADIO") {
    await send.call(sock, msg, { group })
  } else if (typeName === "PEER" && routingId !== undefined && routingId !== null) {
    // the binding ignores the option for PEER; libzmq then refuses (EHOSTUNREACH)
    await send.call(sock, msg, { routingId })
  } else {
    await send.call(sock, msg)
  }
}

async function handle(sock, typeName, cmd) {
  const timeout = cmd.timeout === undefined ? DEFAULT_TIMEOUT_MS : cmd.timeout
  switch (cmd.op) {
    case "send":
      await send(sock, typeName, cmd.data, cmd.routing_id, cmd.group, timeout)
      return { ok: true }
    case "send_many":
      for (const data of cmd.data) {
        await send(sock, typeName, data, cmd.routing_id, cmd.group, timeout)
      }
      return { ok: true, count: cmd.data.length }
    case "recv":
      return await receive(sock, timeout)
    case "recv_many": {
      const messages = []
      for (let i = 0; i < cmd.count; i++) {
        messages.push(await receive(sock, timeout))
      }
      return { messages }
    }
    case "echo": {
      for (let i = 0; i < cmd.count; i++) {
        const msg = await receive(sock, timeout)
        await send(sock, typeName, msg.data, msg.routing_id, msg.group, timeout)
      }
      return { ok: true, count: cmd.count }
    }
    case "join":
      Socket.prototype.join.call(sock, cmd.group)
      return { ok: true }
    case "leave":
      Socket.prototype.leave.call(sock, cmd.group)
      return { ok: true }
    case "bind":
      await sock.bind(cmd.endpoint)
      return { endpoint: sock.lastEndpoint }
    case "unbind":
      await sock.unbind(cmd.endpoint)
      return { ok: true }
    case "connect":
      sock.connect(cmd.endpoint)
      return { ok: true }
    case "disconnect":
      sock.disconnect(cmd.endpoint)
      return { ok: true }
    case "info":
      return { type: typeName, version: zmq.version, capability: zmq.capability }
    case "close":
      return { ok: true, close: true }
    default:
      return { error: `unknown op ${JSON.stringify(cmd.op)}` }
  }
}

function finish(sock, code, rl) {
  // Leave by running out of work rather than process.exit(): then libzmq gets up to
  // the linger period to deliver what is still queued. The unref'd timer is a backstop.
  process.exitCode = code
  setTimeout(() => process.exit(code), LINGER_MS + 2000).unref()
  if (rl) {
    rl.close()
  }
  process.stdin.destroy()
  if (sock && !sock.closed) {
    sock.close()
  }
}

async function main() {
  const [typeName, mode, endpoint] = process.argv.slice(2)
  const Type = TYPES[typeName]
  if (!Type || !["bind", "connect"].includes(mode) || !endpoint) {
    process.stdout.write(
      `FAILED usage: peer.js (${Object.keys(TYPES).join("|")}) (bind|connect) ENDPOINT\n`,
    )
    process.exit(2)
  }

  let sock
  try {
    sock = new Type()
    sock.setInt32Option(ZMQ_LINGER, LINGER_MS)
    if (mode === "bind") {
      await sock.bind(endpoint)
      process.stdout.write(`READY ${sock.lastEndpoint}\n`)
    } else {
      sock.connect(endpoint)
      process.stdout.write(`READY ${endpoint}\n`)
    }
  } catch (err) {
    process.stdout.write(`FAILED ${describe(err)}\n`)
    finish(sock, 1, null)
    return
  }

  // Commands are queued and run one at a time, so replies come in order.
  const queue = []
  let wake = null
  let ended = false
  const rl = readline.createInterface({ input: process.stdin, terminal: false })
  rl.on("line", (line) => {
    if (line.trim()) {
      queue.push(line)
      if (wake) wake()
    }
  })
  rl.on("close", () => {
    ended = true
    if (wake) wake()
  })

  for (;;) {
    if (queue.length === 0) {
      if (ended) break
      await new Promise((resolve) => {
        wake = resolve
      })
      wake = null
      continue
    }
    const line = queue.shift()
    let reply
    try {
      reply = await handle(sock, typeName, JSON.parse(line))
    } catch (err) {
      reply = { error: describe(err) }
    }
    const close = reply.close
    delete reply.close
    write(reply)
    if (close) break
  }
  finish(sock, 0, rl)
}

main().catch((err) => {
  process.stdout.write(`FAILED ${describe(err)}\n`)
  process.exit(1)
})
