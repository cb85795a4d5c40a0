defmodule Shop.Drain.ParameterTest do
  use ExUnit.Case, async: true

  alias Shop.Drain.Parameter

  test "shed false means serve, whatever else the value holds" do
    assert Parameter.interpret(%{"shed" => false}) == {:ok, :serve}
    assert Parameter.interpret(%{"shed" => false, "window_seconds" => 300}) == {:ok, :serve}
  end

  test "shed true with a window means shed over that many seconds" do
    assert Parameter.interpret(%{"shed" => true, "window_seconds" => 300}) == {:ok, {:shed, 300}}
  end

  test "members it does not know are ignored" do
    value = %{"shed" => true, "window_seconds" => 30, "since" => "2026-01-01T00:00:00Z"}
    assert Parameter.interpret(value) == {:ok, {:shed, 30}}
  end

  test "shed true without a usable window is an error that names window_seconds" do
    for window <- [nil, 0, -5, 86_401, 12.5, "300"] do
      value =
        if window, do: %{"shed" => true, "window_seconds" => window}, else: %{"shed" => true}

      assert {:error, message} = Parameter.interpret(value)
      assert message =~ "window_seconds must be a whole number of seconds from 1 to 86400"
      assert message =~ inspect(window)
    end
  end

  test "anything but the documented object is an error that shows the expected shape" do
    for value <- [nil, "shed", [], %{}, %{"shed" => "yes"}, %{"Shed" => true}] do
      assert {:error, message} = Parameter.interpret(value)

      assert message =~
               ~s(expected {"shed": false} or {"shed": true, "window_seconds": <seconds>})
    end
  end
end
