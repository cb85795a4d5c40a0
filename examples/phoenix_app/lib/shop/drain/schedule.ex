defmodule Shop.Drain.Schedule do
  @moduledoc """
  The wave schedule of a drain: how many WebSockets a node closes at each tick (one second in
  production) so that its clients reconnect to the live slot in small waves spread over the
  window instead of all at once.

  It is computed from what is still open at each tick, so sockets that close on their own, or
  that arrive during the drain, are accounted for: at every tick the node closes its fair share
  of what is left over the ticks that are left (rounded up, never more than is open), and at the
  last tick of the window, and every tick after it, everything that is still open.
  """

  @doc """
  Sockets to close at tick `elapsed` (0-based) of a drain `window` ticks long, with `open`
  sockets open: `ceil(open / ticks_left)`, where `ticks_left` is at least 1.
  """
  @spec batch(non_neg_integer, non_neg_integer, pos_integer) :: non_neg_integer
  def batch(open, elapsed, window)
      when is_integer(open) and open >= 0 and is_integer(elapsed) and elapsed >= 0 and
             is_integer(window) and window >= 1 do
    ticks_left = max(window - elapsed, 1)
    div(open + ticks_left - 1, ticks_left)
  end

  @doc """
  The whole plan for `count` sockets when none open or close meanwhile: one entry per tick of
  the window, adding up to `count`, none larger than `ceil(count / window)`.
  """
  @spec plan(non_neg_integer, pos_integer) :: [non_neg_integer]
  def plan(count, window) do
    {batches, 0} =
      Enum.map_reduce(0..(window - 1), count, fn elapsed, open ->
        closing = batch(open, elapsed, window)
        {closing, open - closing}
      end)

    batches
  end
end
