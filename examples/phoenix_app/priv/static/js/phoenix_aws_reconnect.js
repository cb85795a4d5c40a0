// phoenix-aws: how a browser comes back when the server closes its WebSocket.
//
// During a release, and whenever a node stops, phoenix-aws closes WebSockets with code 1012
// (Service Restart). phoenix.js reconnects after any close code but 1000, on its own schedule:
// 10 ms, 50 ms, 100 ms, ... 5 s, the same for every client, so clients closed together come back
// together. These options add a random delay: a client's first reconnect comes after a uniform
// random 0 to JITTER_MS milliseconds, later attempts back off to 10 s, each with the same jitter.
// Channel rejoins (after a join fails or a channel crashes) get the same jitter.
//
// Pass them to every socket of the page (LiveSocket passes its options on to phoenix.js):
//
//   new Phoenix.Socket("/live", PhoenixAwsReconnect.socketOptions({params: {...}}))
//   new LiveSocket("/live", Socket, PhoenixAwsReconnect.socketOptions({params: {...}}))
//
// With a bundler: `import {socketOptions} from "./phoenix_aws_reconnect"`.
;(function (root, factory) {
  var api = factory()
  if (typeof module === "object" && module.exports) {
    module.exports = api
  } else {
    root.PhoenixAwsReconnect = api
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict"

  // The jitter bound: every client is back within this many milliseconds of its first close
  // (plus the time the connection itself takes), spread evenly over it.
  var JITTER_MS = 5000
  // Added to the jitter from the second attempt on (the server could not be reached).
  var RECONNECT_BACKOFF_MS = [0, 1000, 2000, 5000]
  var REJOIN_BACKOFF_MS = [1000, 2000, 5000]
  var MAX_BACKOFF_MS = 10000

  function jittered(backoff, tries, random) {
    var base = backoff[tries - 1]
    if (base === undefined) base = MAX_BACKOFF_MS
    return base + Math.floor((random || Math.random)() * JITTER_MS)
  }

  // phoenix.js calls these with the attempt number, 1 for the first.
  function reconnectAfterMs(tries, random) {
    return jittered(RECONNECT_BACKOFF_MS, tries, random)
  }

  function rejoinAfterMs(tries, random) {
    return jittered(REJOIN_BACKOFF_MS, tries, random)
  }

  function socketOptions(options) {
    var merged = {reconnectAfterMs: reconnectAfterMs, rejoinAfterMs: rejoinAfterMs}
    for (var key in options || {}) merged[key] = options[key]
    return merged
  }

  return {
    JITTER_MS: JITTER_MS,
    reconnectAfterMs: reconnectAfterMs,
    rejoinAfterMs: rejoinAfterMs,
    socketOptions: socketOptions
  }
})
