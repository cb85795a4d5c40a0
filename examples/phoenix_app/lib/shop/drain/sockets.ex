defmodule Shop.Drain.Sockets do
  @moduledoc """
  A Registry of this node's WebSocket transport processes, so the drain can count and close
  them. `ShopWeb.UserSocket.connect/3` registers the transport; the Registry forgets a process
  when it exits.

  Closing a socket sends its transport a message; in the app that is Phoenix's documented
  disconnect, `%Phoenix.Socket.Broadcast{event: "disconnect"}`, after which the client
  reconnects (through the load balancer, to the live slot).
  """

  @doc "The Registry's child spec. Option: `:name` (default `#{inspect(__MODULE__)}`)."
  def child_spec(opts) do
    Registry.child_spec(
      keys: :unique,
      name: Keyword.get(opts, :name, __MODULE__),
      partitions: System.schedulers_online()
    )
  end

  @doc "Registers the calling process as an open WebSocket transport."
  @spec register(atom) :: :ok
  def register(registry \\ __MODULE__) do
    case Registry.register(registry, self(), nil) do
      {:ok, _owner} -> :ok
      {:error, {:already_registered, _pid}} -> :ok
    end
  end

  @doc "How many transports are open on this node."
  @spec count(atom) :: non_neg_integer
  def count(registry \\ __MODULE__), do: Registry.count(registry)

  @doc "Sends `message` to at most `n` open transports; returns how many it sent it to."
  @spec close(non_neg_integer, term, atom) :: non_neg_integer
  def close(n, message, registry \\ __MODULE__)
  def close(0, _message, _registry), do: 0

  def close(n, message, registry) when is_integer(n) and n > 0 do
    registry
    |> Registry.select([{{:"$1", :_, :_}, [], [:"$1"]}])
    |> Enum.take(n)
    |> Enum.reduce(0, fn transport, sent ->
      send(transport, message)
      sent + 1
    end)
  end
end
