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

  # The shedder lists the transports of the real Registry; each disconnect is also reported to
  # the test with the second (tick) it came in: the list is read once per tick.
  defp start_shedder(%{registry: registry, parameter: parameter}, fetch \\ nil) do
    test = self()
    ticks = :counters.new(1, [])

    start_supervised!(
      {Shedder,
       fetch: fetch || fn -> Agent.get(parameter, & &1) end,
       transports: fn ->
         :counters.add(ticks, 1, 1)
         Sockets.list(registry)
       end,
       disconnect: fn transport ->
         send(test, {:told, transport, :counters.get(ticks, 1)})
         send(transport, :disconnect)
       end,
       poll_ms: @poll_ms,
       tick_ms: @tick_ms}
    )
  end

  # A stand-in transport: registered like a real one, it reports the message that closes it
  # and ends, as a WebSocket transport does on a disconnect broadcast.
  defp open_sockets(registry, n) do
    test = self()

    for _ <- 1..n do
      pid =
        spawn(fn ->
          :ok = Sockets.register(registry)
          send(test, {:open, self()})

          receive do
            message -> send(test, {:closed, self(), message})
          end
        end)

      assert_receive {:open, ^pid}
      pid
    end
  end

  defp set_parameter(parameter, value), do: Agent.update(parameter, fn _ -> value end)

  defp collect_closed(n) do
    for _ <- 1..n do
      assert_receive {:closed, pid, message}, 2_000
      {pid, message}
    end
  end

  # The {transport, tick} of every disconnect reported so far.
  defp collect_told(acc \\ []) do
    receive do
      {:told, transport, tick} -> collect_told([{transport, tick} | acc])
    after
      0 -> Enum.reverse(acc)
    end
  end

  defp waves(told), do: told |> Enum.frequencies_by(&elem(&1, 1)) |> Enum.sort()

  defp wait_until(condition, attempts \\ 400) do
    cond do
      condition.() -> :ok
      attempts == 0 -> flunk("the condition was not met in time")
      true -> Process.sleep(5) && wait_until(condition, attempts - 1)
    end
  end

  test "when the parameter says shed, every socket gets the disconnect within the window",
       context do
    pids = open_sockets(context.registry, 30)
    shedder = start_shedder(context)
    set_parameter(context.parameter, {:ok, %{"shed" => true, "window_seconds" => 10}})

    closed = collect_closed(30)
    assert Enum.all?(closed, fn {_pid, message} -> message == :disconnect end)
    assert Enum.sort(Enum.map(closed, &elem(&1, 0))) == Enum.sort(pids)
    assert {:shed, 10, _ticks} = Shedder.status(shedder)

    # Each transport was told once, the last of them in the window's last second at the latest.
    told = collect_told()
    assert Enum.sort(Enum.map(told, &elem(&1, 0))) == Enum.sort(pids)
    assert told |> Enum.map(&elem(&1, 1)) |> Enum.max() <= 10
  end

  test "the sockets are closed in waves of at most their even share, one a second", context do
    open_sockets(context.registry, 30)
    start_shedder(context)
    set_parameter(context.parameter, {:ok, %{"shed" => true, "window_seconds" => 10}})
    collect_closed(30)

    # ceil(30 / 10) = 3 a second, in 10 seconds.
    waves = waves(collect_told())
    assert length(waves) == 10
    assert Enum.all?(waves, fn {_tick, closed} -> closed <= 3 end)
  end

  test "while the parameter says serve, no socket is closed", context do
    open_sockets(context.registry, 5)
    shedder = start_shedder(context)
    refute_receive {:closed, _, _}, 20 * @poll_ms
    assert Shedder.status(shedder) == :serve
  end

  test "when the parameter turns back to serve (a rollback), shedding stops", context do
    open_sockets(context.registry, 40)
    shedder = start_shedder(context)
    set_parameter(context.parameter, {:ok, %{"shed" => true, "window_seconds" => 100}})
    # ceil(40 / 100) = 1 a second: a few are closed, then the rollback comes.
    assert_receive {:told, _transport, _tick}, 2_000
    set_parameter(context.parameter, {:ok, %{"shed" => false}})
    wait_until(fn -> Shedder.status(shedder) == :serve end)
    # Disconnects from before the status reply are in the mailbox already; none come after it.
    collect_told()
    refute_receive {:told, _, _}, 10 * @tick_ms
    assert Sockets.count(context.registry) > 20
  end

  test "a parameter that cannot be read, or makes no sense, changes nothing", context do
    open_sockets(context.registry, 5)
    shedder = start_shedder(context)
    set_parameter(context.parameter, {:error, "GetParameter failed: timeout"})
    refute_receive {:closed, _, _}, 10 * @poll_ms
    set_parameter(context.parameter, {:ok, %{"shed" => "yes"}})
    refute_receive {:closed, _, _}, 10 * @poll_ms
    assert Shedder.status(shedder) == :serve
  end

  test "a failed read during a drain does not stop the drain", context do
    open_sockets(context.registry, 10)
    start_shedder(context)
    set_parameter(context.parameter, {:ok, %{"shed" => true, "window_seconds" => 5}})
    assert_receive {:closed, _, :disconnect}, 2_000
    set_parameter(context.parameter, {:error, "throttled"})
    assert length(collect_closed(9)) == 9
  end

  test "a read that raises is logged and the shedder keeps running", context do
    shedder = start_shedder(context, fn -> raise "no credentials" end)
    Process.sleep(10 * @poll_ms)
    assert Process.alive?(shedder)
    assert Shedder.status(shedder) == :serve
  end

  test "a stop sheds every socket within its window, and no later serve stops it", context do
    pids = open_sockets(context.registry, 12)
    shedder = start_shedder(context)
    Shedder.shed_for_stop(shedder, 3)
    set_parameter(context.parameter, {:ok, %{"shed" => false}})
    closed = collect_closed(12)
    assert Enum.sort(Enum.map(closed, &elem(&1, 0))) == Enum.sort(pids)
    # Three seconds of window: every socket was told by the third tick.
    assert Enum.all?(collect_told(), fn {_transport, tick} -> tick <= 3 end)
    assert {:shed, 3, _} = Shedder.status(shedder)
  end

  test "a stop during a drain ends the drain no later than the stop window", context do
    open_sockets(context.registry, 20)
    shedder = start_shedder(context)
    set_parameter(context.parameter, {:ok, %{"shed" => true, "window_seconds" => 600}})
    wait_until(fn -> match?({:shed, 600, _}, Shedder.status(shedder)) end)
    Shedder.shed_for_stop(shedder, 2)
    wait_until(fn -> match?({:shed, window, _} when window < 600, Shedder.status(shedder)) end)
    {:shed, window, tick} = Shedder.status(shedder)
    assert window <= tick + 2
    assert length(collect_closed(20)) == 20
  end
end
