# Release N+1, changed additively (the cluster policy): a new key, and a reader that ignores keys
# it does not know and gives the new one a default when an older node leaves it out.
defmodule Compat.Lobby do
  def version, do: "v2"
  def message(body), do: %{body: body, slot: "green", author: "ana"}
  def read(%{body: body} = message), do: {:shown, body, Map.get(message, :author, "someone")}
end
