// Real Phoenix JavaScript clients through a blue-green drain (driven by tests/test_drain_clients.py).
//
//   node drain_clients.mjs '<config JSON>'
//
// Two WebSocket servers, "blue" (the slot being drained) and "green" (the live slot), speak the
// Phoenix socket protocol (V2 JSON: join replies and heartbeats). A router in front of them plays
// the load balancer: it passes each WebSocket upgrade to the slot its weights point at and then
// copies bytes both ways. Each client is the phoenix.min.js a page loads (from the npm package of
// that version), evaluated in its own global scope with `ws` as the browser's WebSocket, together
// with the reconnect options script the app's page loads.
//
// Sequence: every client connects (to blue) and joins "room:lobby"; the router's weights move to
// green (the load balancer first); then blue closes each client's WebSocket with the group's
// close code, as Bandit closes a Phoenix transport (a close frame with that code and no reason,
// then it waits for the client's close frame). The script records, per client, the close code it
// saw, and when and where it connected and rejoined again, and prints one JSON document.
//
// config: {
//   "reconnect_script": path of the page's reconnect options script,
//   "versions": {"<label>": "<path of phoenix.min.js>"},
//   "groups": [{"name": ..., "options": "page" | "default", "close_code": 1012, "clients": 50,
//               "expect_back": true}],
//   "slack_ms": how long past the page's jitter bound (JITTER_MS) clients may take to come back
// }
import fs from "node:fs"
import http from "node:http"
import net from "node:net"
import vm from "node:vm"
import {performance} from "node:perf_hooks"
import {WebSocket, WebSocketServer} from "ws"

const config = JSON.parse(process.argv[2])
const now = () => performance.now()

// --- the two slots -------------------------------------------------------------------------

function slotServer(slot, onConnection) {
  const server = new WebSocketServer({host: "127.0.0.1", port: 0})
  server.on("connection", (ws, req) => {
    const client = new URL(req.url, "http://x").searchParams.get("client")
    onConnection(slot, client, ws)
    ws.on("message", (data) => {
      const [joinRef, ref, topic, event] = JSON.parse(data.toString())
      if (event === "phx_join" || event === "heartbeat") {
        const response = event === "phx_join" ? {slot} : {}
        ws.send(JSON.stringify([joinRef, ref, topic, "phx_reply", {status: "ok", response}]))
      }
    })
  })
  return new Promise((resolve) => server.on("listening", () => resolve(server)))
}

// client id → {connections: [{slot, at}], ws on blue}
const clients = new Map()
const blueSockets = new Map()

function recordConnection(slot, client, ws) {
  const entry = clients.get(client)
  if (!entry) return
  entry.connections.push({slot, at: now()})
  if (slot === "blue") blueSockets.set(client, ws)
}

const blue = await slotServer("blue", recordConnection)
const green = await slotServer("green", recordConnection)
const ports = {blue: blue.address().port, green: green.address().port}

// --- the load balancer -----------------------------------------------------------------------

let live = "blue"
const router = http.createServer((_req, res) => res.writeHead(404).end())
router.on("upgrade", (req, socket, head) => {
  const upstream = net.connect(ports[live], "127.0.0.1", () => {
    let request = `${req.method} ${req.url} HTTP/1.1\r\n`
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      request += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`
    }
    upstream.write(request + "\r\n")
    if (head.length) upstream.write(head)
    socket.pipe(upstream)
    upstream.pipe(socket)
  })
  upstream.on("error", () => socket.destroy())
  socket.on("error", () => upstream.destroy())
})
await new Promise((resolve) => router.listen(0, "127.0.0.1", resolve))
const endpoint = `ws://127.0.0.1:${router.address().port}/live`

// --- the clients -----------------------------------------------------------------------------

// A browser's global scope for one version: phoenix.min.js and the reconnect options script
// run in it as classic scripts, as the page's <script> tags run them.
function browserScope(phoenixPath) {
  const scope = {WebSocket, setTimeout, clearTimeout, setInterval, clearInterval, console}
  scope.self = scope
  vm.createContext(scope)
  vm.runInContext(fs.readFileSync(phoenixPath, "utf8"), scope, {filename: phoenixPath})
  vm.runInContext(fs.readFileSync(config.reconnect_script, "utf8"), scope, {
    filename: config.reconnect_script,
  })
  return scope
}

let jitterMs = null
const started = []
for (const [version, phoenixPath] of Object.entries(config.versions)) {
  const scope = browserScope(phoenixPath)
  jitterMs = scope.PhoenixAwsReconnect.JITTER_MS
  for (const group of config.groups) {
    for (let i = 0; i < group.clients; i++) {
      const id = `${version}/${group.name}/${i}`
      const params = {params: {client: id}}
      const options =
        group.options === "page" ? scope.PhoenixAwsReconnect.socketOptions(params) : params
      const socket = new scope.Phoenix.Socket(endpoint, options)
      const entry = {version, group: group.name, closes: [], joins: [], connections: []}
      clients.set(id, entry)
      socket.onClose((event) => entry.closes.push({code: event.code, at: now()}))
      socket.connect()
      const channel = socket.channel("room:lobby", {})
      started.push(
        new Promise((resolve) => {
          channel.join().receive("ok", ({slot}) => {
            entry.joins.push({slot, at: now()})
            resolve()
          })
        }),
      )
      entry.socket = socket
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
await Promise.race([
  Promise.all(started),
  sleep(10_000).then(() => {
    throw new Error("not every client joined within 10 s")
  }),
])

// --- the drain: the load balancer first, then blue closes its sockets -------------------------

live = "green"
const groups = Object.fromEntries(config.groups.map((g) => [g.name, g]))
const shedAt = now()
for (const [id, ws] of blueSockets) {
  ws.close(groups[clients.get(id).group].close_code)
}

// Done when every client of the groups expected back has rejoined, or at the deadline. The
// others have had as long to come back as the slowest of those (the whole jitter bound).
const deadline = shedAt + jitterMs + config.slack_ms
const expected = [...clients.values()].filter((c) => groups[c.group].expect_back)
while (now() < deadline && !expected.every((c) => c.joins.length >= 2)) await sleep(50)

const result = {jitter_ms: jitterMs, shed_at: shedAt, clients: {}}
for (const [id, entry] of clients) {
  entry.socket.disconnect()
  const close = entry.closes[0] || null
  const again = entry.connections.slice(1)
  result.clients[id] = {
    version: entry.version,
    group: entry.group,
    first_slot: entry.connections[0] ? entry.connections[0].slot : null,
    close_code: close ? close.code : null,
    reconnects: again.map((c) => ({slot: c.slot, after_ms: close ? c.at - close.at : null})),
    rejoined: entry.joins.slice(1).map((j) => ({slot: j.slot, after_ms: close ? j.at - close.at : null})),
  }
}
process.stdout.write(JSON.stringify(result))
router.close()
blue.close()
green.close()
process.exit(0)
