defmodule Shop.Drain.Sockets do
  @moduledoc """
  A Registry of this node's WebSocket transport processes, so the drain can count and close
  them. `ShopWeb.UserSocket.connect/3` registers the transport; the Registry forgets a process
  when it exits.

  `close/1` closes a socket the way Phoenix's own SIGTERM drainer finally does: it sends the
  transport `:socket_drain`, which `Phoenix.Socket` answers with
  `{:stop, {:shutdown, :restart}, state}`, and Bandit (and Cowboy, through WebSockAdapter) sends
  the close frame **1012 Service Restart**. phoenix.js reconnects after any code but 1000 (through
  the load balancer, to the live slot); LiveView's client reconnects and rejoins without reloading
  the page. Phoenix's documented `%Phoenix.Socket.Broadcast{event: "disconnect"}` would not do:
  under Bandit ≥ 1.10.4 it closes with 1000 before Phoenix 1.8.8, and phoenix.js never reconnects
  after a 1000 (LiveView then reloads the whole page).

  Phoenix handles `:socket_drain` from 1.7.2 on (lib/phoenix/socket.ex, `__info__/2`), through
  every 1.8 release; mix.exs allows exactly `~> 1.7.14 or ~> 1.8.0`, and a new Phoenix minor is
  allowed only once the drain is verified against it.
  """

  @close_message :socket_drain

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

  @doc "Closes one transport with WebSocket code 1012, so that its client reconnects."
  @spec close(pid) :: :ok
  def close(transport) when is_pid(transport) do
    send(transport, @close_message)
    :ok
  end

  @doc "The message `close/1` sends a transport (Phoenix's drain message)."
  @spec close_message() :: atom
  def close_message, do: @close_message

  @doc "How many transports are open on this node."
  @spec count(atom) :: non_neg_integer
  def count(registry \\ __MODULE__), do: Registry.count(registry)

  @doc "The pids of the open transports."
  @spec list(atom) :: [pid]
  def list(registry \\ __MODULE__) do
    Registry.select(registry, [{{:"$1", :_, :_}, [], [:"$1"]}])
  end
end
