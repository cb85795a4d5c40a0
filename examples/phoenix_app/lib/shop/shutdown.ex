defmodule Shop.Shutdown do
  @moduledoc """
  How the time between SIGTERM and SIGKILL is shared. ECS gives a task `stopTimeout` seconds
  (`STOP_TIMEOUT_SECONDS`, at most 120 on Fargate); the BEAM keeps a margin of 10 s to stop its
  applications, and the rest goes to Phoenix's socket drainer (the last resort for sockets still
  open: the gradual drain happened earlier, see `Shop.Drain.Shedder`) and then to the HTTP
  server's wait for open requests (a quarter, at most 15 s).
  """

  @beam_margin_ms 10_000
  @http_max_ms 15_000

  @doc "`[socket_drain_ms: …, http_drain_ms: …]` for a stop timeout of `seconds`."
  @spec budget(pos_integer) :: keyword
  def budget(seconds) when is_integer(seconds) and seconds >= 1 do
    available = max(seconds * 1_000 - @beam_margin_ms, 1_000)
    http = min(div(available, 4), @http_max_ms)
    [socket_drain_ms: available - http, http_drain_ms: http]
  end

  @doc """
  The endpoint's socket `drainer:` options (the endpoint names this function as an MFA, so it
  runs after config/runtime.exs): batches of 1000 sockets a second, for the budget's
  `socket_drain_ms` (30 s without one, e.g. on a laptop).
  """
  @spec socket_drainer() :: keyword
  def socket_drainer do
    shutdown = Keyword.get(Application.get_env(:shop, :shutdown, []), :socket_drain_ms, 30_000)
    [batch_size: 1_000, batch_interval: 1_000, shutdown: shutdown]
  end
end
