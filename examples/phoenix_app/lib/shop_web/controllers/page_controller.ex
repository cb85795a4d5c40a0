defmodule ShopWeb.PageController do
  @moduledoc """
  The one page: it opens the WebSocket, joins the lobby and shows which node, slot and version
  answered. Static HTML; messages are inserted as text, never as markup.
  """
  use Phoenix.Controller, formats: [:html]

  @page """
  <!doctype html>
  <html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Shop</title>
    <script src="/vendor/phoenix/phoenix.min.js"></script>
    <script src="/js/phoenix_aws_reconnect.js"></script>
  </head>
  <body>
    <h1>Shop</h1>
    <p id="node">connecting…</p>
    <ul id="messages"></ul>
    <form id="post"><input id="body" maxlength="500" autocomplete="off"> <button>Post</button></form>
    <script>
      // A shed socket comes back after a random delay (priv/static/js/phoenix_aws_reconnect.js).
      const socket = new Phoenix.Socket("/live", PhoenixAwsReconnect.socketOptions())
      const status = document.getElementById("node")
      socket.onClose((event) => {
        // phoenix.js reconnects after every code but 1000 (up to 1.8.15): then there is no way back.
        status.textContent = event.code === 1000
          ? "disconnected: reload the page"
          : `reconnecting… (the server closed the connection, code ${event.code})`
      })
      socket.connect()
      const lobby = socket.channel("room:lobby", {})
      const list = document.getElementById("messages")
      const show = (m) => {
        const item = document.createElement("li")
        item.textContent = `${m.body} (${m.slot})`
        list.appendChild(item)
      }
      lobby.join().receive("ok", ({messages, node}) => {
        status.textContent = `${node.node}, slot ${node.slot}, version ${node.version}`
        list.replaceChildren()
        messages.forEach(show)
      })
      lobby.on("posted", show)
      document.getElementById("post").addEventListener("submit", (event) => {
        event.preventDefault()
        const input = document.getElementById("body")
        lobby.push("post", {body: input.value})
        input.value = ""
      })
    </script>
  </body>
  </html>
  """

  def index(conn, _params), do: html(conn, @page)
end
