defmodule ShopWeb.RoomChannel do
  @moduledoc """
  The lobby: join to get the recent messages and which node answered; post a message and every
  subscriber, on every node of the cluster, receives it through Phoenix.PubSub.
  """
  use Phoenix.Channel

  alias Shop.Messages

  @impl true
  def join("room:lobby", _payload, socket) do
    {:ok, %{messages: Enum.map(Messages.recent(), &render/1), node: node_info()}, socket}
  end

  def join(_topic, _payload, _socket), do: {:error, %{reason: "unknown room"}}

  @impl true
  def handle_in("post", %{"body" => body}, socket) when is_binary(body) do
    case Messages.post(body) do
      {:ok, message} ->
        broadcast!(socket, "posted", render(message))
        {:reply, :ok, socket}

      {:error, _changeset} ->
        {:reply, {:error, %{reason: "a message has 1 to 500 characters"}}, socket}
    end
  end

  def handle_in("ping", _payload, socket), do: {:reply, {:ok, node_info()}, socket}

  defp render(message) do
    %{body: message.body, slot: message.slot, at: message.inserted_at}
  end

  defp node_info do
    release = Application.get_env(:shop, :release, [])
    %{node: Atom.to_string(node()), slot: release[:slot], version: release[:version]}
  end
end
