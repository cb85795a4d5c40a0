defmodule Shop.Drain.ShedderTest do
  use ExUnit.Case, async: true

  alias Shop.Drain.{Shedder, Sockets}

  # The shedder logs every wave and every failed read; keep that out of the test output.
  @moduletag :capture_log

  # One "second" of a drain window lasts 10 ms here; the parameter is read every 5 ms.
  @tick_ms 10
  @poll_ms 5

  setup context do
    registry = Module.concat(__MODULE__, "R#{context.line}")
    start_supervised!({Sockets, name: registry})
    # The parameter's value, as the test sets it.
    {:ok, parameter} = Agent.start_link(fn -> {:ok, %{"shed" => false}} end)
    %{registry: registry, parameter: parameter}
  end

  defp start_shedder(%{registry: registry, parameter: parameter}) do
    start_supervised!(
      {Shedder,
       fetch: fn -> Agent.get(parameter, & &1) end,
       count: fn -> Sockets.count(registry) end,
       close: &Sockets.close(&1, :disconnect, registry),
       poll_ms: @poll_ms,
       tick_ms: @tick_ms}
    )
  end

  # A stand-in transport: registered like a real one, it reports the message that closes it
  # (with the time) and ends, as a WebSocket transport does on a disconnect broadcast.
  defp open_sockets(registry, n) do
    test = self()

    for _ <- 1..n do
      pid =
        spawn(fn ->
          :ok = Sockets.register(registry)
          send(test, {:open, self()})

          receive do
            message -> send(test, {:closed, self(), message, System.monotonic_time(:millisecond)})
          end
        end)

      assert_receive {:open, ^pid}
      pid
    end
  end

  defp set_parameter(parameter, value), do: Agent.update(parameter, fn _ -> value end)

  defp collect_closed(n, timeout) do
    for _ <- 1..n do
      assert_receive {:closed, pid, message, at}, timeout
      {pid, message, at}
    end
  end

  test "when the parameter says shed, every socket gets the disconnect within the window",
       context do
    pids = open_sockets(context.registry, 30)
    shedder = start_shedder(context)
    started = System.monotonic_time(:millisecond)
    set_parameter(context.parameter, {:ok, %{"shed" => true, "window_seconds" => 10}})

    closed = collect_closed(30, 1_000)
    assert Enum.all?(closed, fn {_pid, message, _at} -> message == :disconnect end)
    assert Enum.sort(Enum.map(closed, &elem(&1, 0))) == Enum.sort(pids)
    assert {:shed, 10, _ticks} = Shedder.status(shedder)

    # 10 "seconds" of 10 ms, plus the time it takes to notice the parameter, and some slack.
    last = closed |> Enum.map(&elem(&1, 2)) |> Enum.max()
    assert last - started < 10 * @tick_ms + 10 * @poll_ms + 150
  end

  test "the sockets are closed in waves, not all at once", context do
    open_sockets(context.registry, 30)
    start_shedder(context)
    set_parameter(context.parameter, {:ok, %{"shed" => true, "window_seconds" => 10}})

    # ceil(30 / 10) = at most 3 a tick: the first tick closes 3, and the rest follow later.
    times = collect_closed(30, 1_000) |> Enum.map(&elem(&1, 2))
    first = Enum.min(times)
    assert Enum.count(times, &(&1 == first)) <= 3
    assert Enum.max(times) - first >= 5 * @tick_ms
  end

  test "while the parameter says serve, no socket is closed", context do
    open_sockets(context.registry, 5)
    shedder = start_shedder(context)
    refute_receive {:closed, _, _, _}, 20 * @poll_ms
    assert Shedder.status(shedder) == :serve
  end

  test "when the parameter turns back to serve (a rollback), shedding stops", context do
    open_sockets(context.registry, 40)
    shedder = start_shedder(context)
    set_parameter(context.parameter, {:ok, %{"shed" => true, "window_seconds" => 100}})
    # ceil(40 / 100) = 1 a tick: a few are closed, then the rollback comes.
    assert_receive {:closed, _, :disconnect, _}, 500
    set_parameter(context.parameter, {:ok, %{"shed" => false}})
    Process.sleep(3 * @poll_ms)
    assert Shedder.status(shedder) == :serve
    # Drop what was closed before the rollback was seen; then nothing more closes.
    flush_closed()
    refute_receive {:closed, _, _, _}, 10 * @tick_ms
    assert Sockets.count(context.registry) > 20
  end

  test "a parameter that cannot be read, or makes no sense, changes nothing", context do
    open_sockets(context.registry, 5)
    shedder = start_shedder(context)
    set_parameter(context.parameter, {:error, "GetParameter failed: timeout"})
    refute_receive {:closed, _, _, _}, 10 * @poll_ms
    set_parameter(context.parameter, {:ok, %{"shed" => "yes"}})
    refute_receive {:closed, _, _, _}, 10 * @poll_ms
    assert Shedder.status(shedder) == :serve
  end

  test "a failed read during a drain does not stop the drain", context do
    open_sockets(context.registry, 10)
    start_shedder(context)
    set_parameter(context.parameter, {:ok, %{"shed" => true, "window_seconds" => 5}})
    assert_receive {:closed, _, :disconnect, _}, 500
    set_parameter(context.parameter, {:error, "throttled"})
    assert length(collect_closed(9, 1_000)) == 9
  end

  test "a read that raises is logged and the shedder keeps running", context do
    raising = fn -> raise "no credentials" end

    shedder =
      start_supervised!(
        {Shedder,
         fetch: raising,
         count: fn -> Sockets.count(context.registry) end,
         close: &Sockets.close(&1, :disconnect, context.registry),
         poll_ms: @poll_ms,
         tick_ms: @tick_ms}
      )

    Process.sleep(10 * @poll_ms)
    assert Process.alive?(shedder)
    assert Shedder.status(shedder) == :serve
  end

  defp flush_closed do
    receive do
      {:closed, _, _, _} -> flush_closed()
    after
      0 -> :ok
    end
  end
end
