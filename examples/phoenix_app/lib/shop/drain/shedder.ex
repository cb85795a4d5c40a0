defmodule Shop.Drain.Shedder do
  @moduledoc """
  Sheds this node's WebSockets gradually when its slot is being drained.

  ECS deregisters a task from the load balancer, waits the deregistration delay, cuts whatever
  is still open and only then sends SIGTERM, so a drainer that starts at SIGTERM finds no
  sockets left. Instead the release command turns the slot's drain parameter on while the old
  slot still runs (at weight 0); every node polls it (every 10 s) and, once it says shed,
  closes its sockets at each tick (1 s) following `Shop.Drain.Schedule`, so all are closed by
  the end of the window. The clients reconnect, and the load balancer sends them to the live
  slot. When the parameter says serve again (a rollback), the node stops shedding.

  ECS stops tasks on its own too (scale-in, deployments, rebalancing, replacements):
  `shed_for_stop/2` (called when `Shop.Drain.Stops` learns ECS is stopping this task) sheds
  within a shorter window that fits in the load balancer's deregistration delay, and no later
  "serve" from the parameter undoes it: the task is going away.

  Options:
  - `:fetch` (required): returns `{:ok, decoded_json}` or `{:error, reason}`;
  - `:transports` (required): the pids of this node's open WebSocket transports;
  - `:disconnect` (required): tells one transport to close;
  - `:poll_ms` (default 10_000): how often the parameter is read;
  - `:tick_ms` (default 1_000): how long one second of the window lasts, i.e. one tick (tests
    make it shorter);
  - `:name` (optional).
  A failed or malformed read is logged and changes nothing. A transport that was told to close
  is not counted or told again while it winds down.
  """
  use GenServer
  require Logger

  alias Shop.Drain.{Parameter, Schedule}

  def start_link(opts), do: GenServer.start_link(__MODULE__, opts, Keyword.take(opts, [:name]))

  @doc "`:serve`, or `{:shed, window_seconds, ticks_done}`."
  def status(server), do: GenServer.call(server, :status)

  @doc """
  Sheds every socket within `window_seconds` from now, whatever the parameter says from then on
  (ECS is stopping this task). A drain already under way ends no later than it would have.
  """
  @spec shed_for_stop(GenServer.server(), pos_integer) :: :ok
  def shed_for_stop(server, window_seconds) when is_integer(window_seconds) and window_seconds >= 1,
    do: GenServer.cast(server, {:shed_for_stop, window_seconds})

  @impl true
  def init(opts) do
    state = %{
      fetch: Keyword.fetch!(opts, :fetch),
      transports: Keyword.fetch!(opts, :transports),
      disconnect: Keyword.fetch!(opts, :disconnect),
      poll_ms: Keyword.get(opts, :poll_ms, 10_000),
      tick_ms: Keyword.get(opts, :tick_ms, 1_000),
      polling: nil,
      shedding: nil,
      stopping: false
    }

    send(self(), :poll)
    {:ok, state}
  end

  @impl true
  def handle_call(:status, _from, %{shedding: nil} = state), do: {:reply, :serve, state}

  def handle_call(:status, _from, %{shedding: shedding} = state),
    do: {:reply, {:shed, shedding.window, shedding.tick}, state}

  @impl true
  def handle_cast({:shed_for_stop, window}, %{shedding: nil} = state) do
    Logger.info("drain: ECS is stopping this task; shedding its WebSockets over #{window} s")
    {:noreply, %{start(state, window) | stopping: true}}
  end

  def handle_cast({:shed_for_stop, window}, %{shedding: shedding} = state) do
    # The sooner end of the two: the drain's, or `window` seconds from now.
    ends = min(shedding.window, shedding.tick + window)
    {:noreply, %{put_in(state.shedding.window, ends) | stopping: true}}
  end

  @impl true
  def handle_info(:poll, %{polling: nil, fetch: fetch} = state) do
    # Read in a task so a slow AWS call never holds up the ticks of a drain in progress.
    task = Task.async(fn -> safely(fetch) end)
    {:noreply, %{state | polling: task.ref}}
  end

  def handle_info({ref, result}, %{polling: ref} = state) do
    Process.demonitor(ref, [:flush])
    Process.send_after(self(), :poll, state.poll_ms)
    {:noreply, apply_parameter(%{state | polling: nil}, result)}
  end

  def handle_info({:tick, ref}, %{shedding: %{ref: ref} = shedding} = state) do
    transports = MapSet.new(state.transports.())
    # Told earlier and still winding down: neither open nor to be told again.
    told = MapSet.intersection(shedding.told, transports)
    open = MapSet.difference(transports, told)
    closing = Enum.take(open, Schedule.batch(MapSet.size(open), shedding.tick, shedding.window))
    Enum.each(closing, state.disconnect)

    if closing != [] do
      Logger.info(
        "drain: closed #{length(closing)} of #{MapSet.size(open)} WebSockets " <>
          "(second #{shedding.tick + 1} of #{shedding.window})"
      )
    end

    Process.send_after(self(), {:tick, ref}, state.tick_ms)

    shedding = %{
      shedding
      | tick: shedding.tick + 1,
        told: MapSet.union(told, MapSet.new(closing))
    }

    {:noreply, %{state | shedding: shedding}}
  end

  # A tick of a drain that has since stopped (or restarted), or anything else.
  def handle_info(_message, state), do: {:noreply, state}

  defp apply_parameter(state, {:ok, value}) do
    case Parameter.interpret(value) do
      {:ok, :serve} ->
        stop(state)

      {:ok, {:shed, window}} ->
        start(state, window)

      {:error, message} ->
        Logger.warning("drain parameter ignored: #{message}")
        state
    end
  end

  defp apply_parameter(state, {:error, reason}) do
    Logger.warning("drain parameter could not be read: #{reason}")
    state
  end

  defp start(%{shedding: nil} = state, window) do
    Logger.info("drain: shedding this node's WebSockets over #{window} s")
    ref = make_ref()
    send(self(), {:tick, ref})
    %{state | shedding: %{ref: ref, window: window, tick: 0, told: MapSet.new()}}
  end

  # While ECS stops the task, the parameter no longer sets the window.
  defp start(%{stopping: true} = state, _window), do: state
  defp start(state, window), do: put_in(state.shedding.window, window)

  defp stop(%{shedding: nil} = state), do: state
  defp stop(%{stopping: true} = state), do: state

  defp stop(state) do
    Logger.info("drain: stopped shedding (the parameter says serve)")
    %{state | shedding: nil}
  end

  defp safely(fetch) do
    fetch.()
  rescue
    error -> {:error, Exception.message(error)}
  catch
    kind, reason -> {:error, Exception.format_banner(kind, reason)}
  end
end
