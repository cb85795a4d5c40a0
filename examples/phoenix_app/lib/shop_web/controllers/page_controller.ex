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
  </head>
  <body>
    <h1>Shop</h1>
    <p id="node">connecting…</p>
    <ul id="messages"></ul>
    <form id="post"><input id="body" maxlength="500" autocomplete="off"> <button>Post</button></form>
    <script>
      const socket = new Phoenix.Socket("/live")
      socket.connect()
      const lobby = socket.channel("room:lobby", {})
      const list = document.getElementById("messages")
      const show = (m) => {
        const item = document.createElement("li")
        item.textContent = `${m.body} (${m.slot})`
        list.appendChild(item)
      }
      lobby.join().receive("ok", ({messages, node}) => {
        document.getElementById("node").textContent =
          `${node.node}, slot ${node.slot}, version ${node.version}`
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
