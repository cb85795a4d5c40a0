defmodule Shop.Metrics.SocketReporter do
  @moduledoc """
  Writes the node's open WebSocket count as one Embedded Metric Format line to stdout every
  minute (see `Shop.Metrics.EMF`). The release command and the dashboard read the metric to
  see how far a drain has got.

  Options: `:count` (required, returns the number of open sockets), `:stack` and `:slot`
  (required, the dimensions), `:interval_ms` (default 60_000), `:encode` (default
  `&Jason.encode!/1`), `:write` (default `&IO.puts/1`), `:name` (optional).
  """
  use GenServer

  alias Shop.Metrics.EMF

  def start_link(opts), do: GenServer.start_link(__MODULE__, opts, Keyword.take(opts, [:name]))

  @impl true
  def init(opts) do
    state = %{
      count: Keyword.fetch!(opts, :count),
      stack: Keyword.fetch!(opts, :stack),
      slot: Keyword.fetch!(opts, :slot),
      interval_ms: Keyword.get(opts, :interval_ms, 60_000),
      encode: Keyword.get(opts, :encode, &Jason.encode!/1),
      write: Keyword.get(opts, :write, &IO.puts/1)
    }

    Process.send_after(self(), :report, state.interval_ms)
    {:ok, state}
  end

  @impl true
  def handle_info(:report, state) do
    now = System.os_time(:millisecond)
    state.write.(state.encode.(EMF.web_sockets(state.count.(), state.stack, state.slot, now)))
    Process.send_after(self(), :report, state.interval_ms)
    {:noreply, state}
  end
end
