defmodule Shop.ShutdownTest do
  # Reads and sets the :shop application environment.
  use ExUnit.Case, async: false

  alias Shop.Shutdown

  test "with Fargate's 120 s the drainer gets 95 s and the HTTP server 15 s" do
    assert Shutdown.budget(120) == [socket_drain_ms: 95_000, http_drain_ms: 15_000]
  end

  test "drainer and HTTP server end before SIGKILL, with the BEAM's margin, for every timeout" do
    for seconds <- 11..120 do
      budget = Shutdown.budget(seconds)
      assert budget[:socket_drain_ms] > 0 and budget[:http_drain_ms] > 0
      assert budget[:socket_drain_ms] + budget[:http_drain_ms] + 10_000 <= seconds * 1_000
    end
  end

  test "a timeout shorter than the margin still gives each a moment" do
    budget = Shutdown.budget(2)
    assert budget[:socket_drain_ms] + budget[:http_drain_ms] == 1_000
  end

  test "the socket drainer takes its shutdown from the budget in the app's config" do
    Application.put_env(:shop, :shutdown, Shutdown.budget(60))
    on_exit(fn -> Application.delete_env(:shop, :shutdown) end)

    assert Shutdown.socket_drainer() == [
             batch_size: 1_000,
             batch_interval: 1_000,
             shutdown: 37_500
           ]
  end

  test "without a budget the socket drainer keeps Phoenix's 30 s" do
    Application.delete_env(:shop, :shutdown)
    assert Shutdown.socket_drainer()[:shutdown] == 30_000
  end
end
