# Release N+1, changed against the policy: a key renamed. Each version reads only its own shape.
defmodule Compat.Lobby do
  def version, do: "v2-breaking"
  def message(body), do: %{text: body, slot: "green"}
  def read(%{text: text}), do: {:shown, text}
end
