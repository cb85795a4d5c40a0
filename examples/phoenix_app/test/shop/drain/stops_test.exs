defmodule Shop.Drain.StopsTest do
  # One :pg scope per node, shared by the tests of this module.
  use ExUnit.Case, async: false

  alias Shop.Drain.Stops

  @moduletag :capture_log
  @poll_ms 10

  setup_all do
    case :pg.start_link(Stops.scope()) do
      {:ok, pid} -> Process.unlink(pid)
      {:error, {:already_started, _}} -> :ok
    end

    :ok
  end

  # A member of `slot`'s group whose task is `arn`; it reports its stop to the test. `describe`
  # answers from the `desired` agent and counts its calls.
  defp member(slot, arn, desired, opts \\ []) do
    test = self()

    start_supervised!(
      {Stops,
       slot: slot,
       poll_ms: @poll_ms,
       window_seconds: Keyword.get(opts, :window, 40),
       task_arn: Keyword.get(opts, :task_arn, fn -> {:ok, arn} end),
       describe: fn arns ->
         send(test, {:described, arn, Enum.sort(arns)})
         Agent.get(desired, & &1)
       end,
       stopping: fn window -> send(test, {:stopping, arn, window}) end},
      id: arn
    )
  end

  defp desired(value) do
    {:ok, agent} = Agent.start_link(fn -> value end)
    agent
  end

  test "the leader is the member on the lowest node, the same for every member" do
    members = [self(), spawn(fn -> :ok end)]
    assert Stops.leader(members) == Stops.leader(Enum.reverse(members))
    assert Stops.leader([]) == nil
  end

  test "only the members ECS is stopping are picked" do
    a = self()
    b = spawn(fn -> :ok end)
    by_arn = %{"arn:a" => a, "arn:b" => b}
    assert Stops.stopping(by_arn, %{"arn:a" => "RUNNING", "arn:b" => "STOPPED"}) == [b]
    assert Stops.stopping(by_arn, %{"arn:a" => "RUNNING"}) == []
  end

  test "a member whose task ECS stops is told once, with the stop window; the others are not" do
    states = desired({:ok, %{"arn:1" => "RUNNING", "arn:2" => "STOPPED", "arn:3" => "RUNNING"}})
    for arn <- ["arn:1", "arn:2", "arn:3"], do: member("slot-a", arn, states, window: 40)

    assert_receive {:stopping, "arn:2", 40}, 2_000
    Process.sleep(10 * @poll_ms)
    refute_received {:stopping, "arn:2", _}
    refute_received {:stopping, "arn:1", _}
    refute_received {:stopping, "arn:3", _}
  end

  test "one member describes every task of the group in one call" do
    states = desired({:ok, %{}})
    for arn <- ["arn:x", "arn:y", "arn:z"], do: member("slot-b", arn, states)

    assert_receive {:described, leader, ["arn:x", "arn:y", "arn:z"]}, 2_000
    Process.sleep(5 * @poll_ms)
    assert {:messages, messages} = Process.info(self(), :messages)
    callers = for {:described, caller, _} <- messages, uniq: true, do: caller
    assert callers == [leader]
  end

  test "groups are per slot: a slot's leader never describes the other slot's tasks" do
    states = desired({:ok, %{}})
    member("slot-c", "arn:c", states)
    member("slot-d", "arn:d", states)
    assert_receive {:described, "arn:c", ["arn:c"]}, 2_000
    assert_receive {:described, "arn:d", ["arn:d"]}, 2_000
  end

  test "a failed describe changes nothing and the members keep running" do
    states = desired({:error, "AccessDeniedException"})
    pid = member("slot-e", "arn:e", states)
    assert_receive {:described, "arn:e", _}, 2_000
    assert_receive {:described, "arn:e", _}, 2_000
    refute_received {:stopping, _, _}
    assert Process.alive?(pid)
  end

  test "a member that cannot learn its task ARN is left out until it can" do
    states = desired({:ok, %{"arn:g" => "STOPPED"}})
    member("slot-f", "arn:f", states, task_arn: fn -> {:error, :no_metadata} end)
    member("slot-f", "arn:g", states)
    assert_receive {:stopping, "arn:g", 40}, 2_000
    assert_receive {:described, _, ["arn:g"]}, 2_000
  end
end
