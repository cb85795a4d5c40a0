defmodule Shop.Drain.SocketsTest do
  use ExUnit.Case, async: true

  alias Shop.Drain.Sockets

  setup context do
    registry = Module.concat(__MODULE__, "R#{context.line}")
    start_supervised!({Sockets, name: registry})
    %{registry: registry}
  end

  defp transport(registry) do
    test = self()

    pid =
      spawn(fn ->
        :ok = Sockets.register(registry)
        send(test, {:registered, self()})

        receive do
          message -> send(test, {:closed, self(), message})
        end
      end)

    assert_receive {:registered, ^pid}
    pid
  end

  test "every registered transport is counted", %{registry: registry} do
    assert Sockets.count(registry) == 0
    for _ <- 1..5, do: transport(registry)
    assert Sockets.count(registry) == 5
  end

  test "the list holds exactly the registered transports", %{registry: registry} do
    pids = for _ <- 1..4, do: transport(registry)
    assert Enum.sort(Sockets.list(registry)) == Enum.sort(pids)
  end

  test "a transport that has ended is no longer counted", %{registry: registry} do
    pid = transport(registry)
    ref = Process.monitor(pid)
    send(pid, :bye)
    assert_receive {:DOWN, ^ref, :process, ^pid, _}
    # The Registry learns of the exit through its own monitor.
    Process.sleep(20)
    assert Sockets.count(registry) == 0
    assert Sockets.list(registry) == []
  end

  test "registering the same transport twice keeps one entry", %{registry: registry} do
    assert Sockets.register(registry) == :ok
    assert Sockets.register(registry) == :ok
    assert Sockets.count(registry) == 1
  end

  test "closing a transport sends it Phoenix's drain message", %{registry: registry} do
    pid = transport(registry)
    assert Sockets.close(pid) == :ok
    assert_receive {:closed, ^pid, :socket_drain}
    assert Sockets.close_message() == :socket_drain
  end
end
