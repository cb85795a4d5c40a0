defmodule ShopWeb.UserSocket do
  @moduledoc """
  The app's socket: a LiveView socket (so LiveViews and the lobby channel share one WebSocket)
  that registers every WebSocket transport with the drain (`Shop.Drain.Sockets`).

  Copy this into a LiveView app and mount it in place of `Phoenix.LiveView.Socket`.
  """
  use Phoenix.LiveView.Socket

  channel "room:*", ShopWeb.RoomChannel

  # No @impl: Phoenix.LiveView.Socket's own id/1 has none, and one @impl here would make the
  # compiler warn about it.
  def connect(_params, socket, _connect_info) do
    # Bandit upgrades the HTTP request to a WebSocket in the same process, so the process
    # running connect/3 is the transport that a disconnect message later stops.
    if socket.transport == :websocket, do: Shop.Drain.Sockets.register()
    {:ok, socket}
  end
end
