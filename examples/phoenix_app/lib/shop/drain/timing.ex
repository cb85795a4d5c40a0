defmodule Shop.Drain.Timing do
  @moduledoc """
  The app's side of the drain's timing inequality (docs/app-contract.md, "Timing"), from what
  phoenix-aws tells it about the load balancer:

  - a node that ECS stops sheds its sockets within `stop_window/2`: the deregistration delay
    less the poll that notices the stop and a margin, so every socket is closed by the app,
    with a code clients reconnect from, before the load balancer would cut it:
    `poll + stop window + 10 s <= deregistration delay`;
  - the HTTP server keeps an idle connection open `keepalive_ms/1`: longer than the load
    balancer's idle timeout, so the load balancer never sends a request into a connection the
    app has just closed (AWS: "the keep-alive timeout is greater than the load balancer idle
    timeout");
  - SIGTERM's budget (`Shop.Shutdown.budget/1`) fits in `stopTimeout` (at most 120 s).
  """

  @stop_margin_s 10
  @keepalive_margin_s 5

  @doc """
  Seconds a stopping node takes to shed its sockets: `deregistration_delay - poll - 10`.
  Raises when that leaves less than a second (phoenix-aws refuses such a delay).
  """
  @spec stop_window(non_neg_integer, pos_integer) :: pos_integer
  def stop_window(deregistration_delay_s, poll_s)
      when is_integer(deregistration_delay_s) and is_integer(poll_s) do
    case deregistration_delay_s - poll_s - @stop_margin_s do
      window when window >= 1 ->
        window

      _ ->
        raise ArgumentError,
              "a deregistration delay of #{deregistration_delay_s} s leaves no time to shed " <>
                "sockets after a #{poll_s} s poll and a #{@stop_margin_s} s margin"
    end
  end

  @doc "The HTTP server's idle keep-alive, in ms: the load balancer's idle timeout + 5 s."
  @spec keepalive_ms(pos_integer) :: pos_integer
  def keepalive_ms(idle_timeout_s) when is_integer(idle_timeout_s) and idle_timeout_s >= 1,
    do: (idle_timeout_s + @keepalive_margin_s) * 1_000
end
