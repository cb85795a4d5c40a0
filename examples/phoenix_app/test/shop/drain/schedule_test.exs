defmodule Shop.Drain.ScheduleTest do
  use ExUnit.Case, async: true

  alias Shop.Drain.Schedule

  @counts [0, 1, 2, 7, 10, 99, 100, 101, 1_000, 12_345]
  @windows [1, 2, 3, 10, 30, 60, 300, 3_600]

  test "a plan has one entry per second of the window and closes every socket" do
    for count <- @counts, window <- @windows do
      plan = Schedule.plan(count, window)
      assert length(plan) == window
      assert Enum.sum(plan) == count, "#{count} sockets over #{window} s: #{inspect(plan)}"
    end
  end

  test "no second closes more than its even share of the sockets" do
    for count <- @counts, window <- @windows do
      share = div(count + window - 1, window)
      assert Enum.max(Schedule.plan(count, window)) <= share
    end
  end

  test "the waves are spread: 600 sockets over 300 s close 2 a second" do
    assert Schedule.plan(600, 300) == List.duplicate(2, 300)
  end

  test "a second never closes more sockets than are open" do
    for open <- 0..50, elapsed <- 0..20, window <- 1..20 do
      assert Schedule.batch(open, elapsed, window) <= open
    end
  end

  test "the last second of the window and every second after it close everything still open" do
    assert Schedule.batch(17, 9, 10) == 17
    assert Schedule.batch(17, 10, 10) == 17
    assert Schedule.batch(3, 500, 10) == 3
  end

  test "sockets that arrive during the drain are closed by the end of the window" do
    window = 20

    {open, closed} =
      Enum.reduce(0..(window - 1), {40, 0}, fn elapsed, {open, closed} ->
        # A few clients still reach this slot (e.g. through the test route) while it drains.
        open = open + rem(elapsed, 3)
        closing = Schedule.batch(open, elapsed, window)
        {open - closing, closed + closing}
      end)

    assert open == 0
    assert closed == 40 + Enum.sum(for e <- 0..(window - 1), do: rem(e, 3))
  end

  test "counts and times that make no sense are refused" do
    assert_raise FunctionClauseError, fn -> Schedule.batch(-1, 0, 10) end
    assert_raise FunctionClauseError, fn -> Schedule.batch(1, 0, 0) end
  end
end
