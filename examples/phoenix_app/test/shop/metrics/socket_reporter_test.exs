defmodule Shop.Metrics.SocketReporterTest do
  use ExUnit.Case, async: true

  test "every interval it writes one encoded line with the current count" do
    test = self()
    {:ok, counter} = Agent.start_link(fn -> 0 end)

    start_supervised!(
      {Shop.Metrics.SocketReporter,
       count: fn -> Agent.get_and_update(counter, &{&1, &1 + 5}) end,
       stack: "phoenix-aws-dev",
       slot: "green",
       interval_ms: 10,
       encode: &{:encoded, &1},
       write: &send(test, {:line, &1})}
    )

    assert_receive {:line, {:encoded, first}}, 200
    assert_receive {:line, {:encoded, second}}, 200
    assert {first["WebSockets"], second["WebSockets"]} == {0, 5}
    assert first["Stack"] == "phoenix-aws-dev" and first["Slot"] == "green"
    assert second["_aws"]["Timestamp"] >= first["_aws"]["Timestamp"]
  end

  test "nothing is written before the first interval has passed" do
    test = self()

    start_supervised!(
      {Shop.Metrics.SocketReporter,
       count: fn -> 0 end,
       stack: "s",
       slot: "blue",
       interval_ms: 60_000,
       encode: & &1,
       write: &send(test, {:line, &1})}
    )

    refute_receive {:line, _}, 50
  end
end
