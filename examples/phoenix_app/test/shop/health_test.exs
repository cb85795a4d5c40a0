defmodule Shop.HealthTest do
  use ExUnit.Case, async: true

  test "the report says ok and names the slot and version that answered" do
    assert Shop.Health.report(slot: "green", version: "2026.11.20-1") ==
             %{"status" => "ok", "slot" => "green", "version" => "2026.11.20-1"}
  end
end
