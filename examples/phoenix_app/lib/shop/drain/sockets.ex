defmodule Shop.Drain.Sockets do
  @moduledoc """
  A Registry of this node's WebSocket transport processes, so the drain can count and close
  them. `ShopWeb.UserSocket.connect/3` registers the transport; the Registry forgets a process
  when it exits.

  Closing a socket sends its transport Phoenix's documented disconnect,
  `%Phoenix.Socket.Broadcast{event: "disconnect"}` (see `Shop.Application`): the transport stops
  and the client reconnects (through the load balancer, to the live slot).
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

  @doc "The pids of the open transports."
  @spec list(atom) :: [pid]
  def list(registry \\ __MODULE__) do
    Registry.select(registry, [{{:"$1", :_, :_}, [], [:"$1"]}])
  end
end
