defmodule Shop.Drain.TimingTest do
  use ExUnit.Case, async: true

  alias Shop.Drain.Timing

  test "the stop window is the deregistration delay less the poll and a 10 s margin" do
    assert Timing.stop_window(60, 10) == 40
    assert Timing.stop_window(21, 10) == 1
  end

  test "a deregistration delay that leaves no time to shed is refused" do
    assert_raise ArgumentError, ~r/deregistration delay of 20 s leaves no time/, fn ->
      Timing.stop_window(20, 10)
    end
  end

  test "the keep-alive outlasts the load balancer's idle timeout" do
    assert Timing.keepalive_ms(120) == 125_000
    assert Timing.keepalive_ms(60) > 60_000
  end
end
