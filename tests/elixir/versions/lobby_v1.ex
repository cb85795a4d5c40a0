# Release N of a message that crosses nodes: what one node broadcasts to the lobby's subscribers
# on every node (as ShopWeb.RoomChannel broadcasts a posted message through Phoenix.PubSub), and
# how a subscriber reads it.
defmodule Compat.Lobby do
  def version, do: "v1"
  def message(body), do: %{body: body, slot: "blue"}
  def read(%{body: body}), do: {:shown, body}
end
