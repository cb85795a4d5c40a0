defmodule Shop.Metrics.EMFTest do
  use ExUnit.Case, async: true

  alias Shop.Metrics.EMF

  @document EMF.web_sockets(42, "phoenix-aws-prod", "blue", 1_700_000_000_000)

  test "the metric is WebSockets, a Count, in namespace PhoenixAws" do
    [directive] = @document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "PhoenixAws"
    assert directive["Metrics"] == [%{"Name" => "WebSockets", "Unit" => "Count"}]
  end

  test "the dimensions are Stack and Slot, and both are members of the document" do
    [directive] = @document["_aws"]["CloudWatchMetrics"]
    assert directive["Dimensions"] == [["Stack", "Slot"]]
    assert @document["Stack"] == "phoenix-aws-prod"
    assert @document["Slot"] == "blue"
  end

  test "the value is the open socket count, and the timestamp is in milliseconds" do
    assert @document["WebSockets"] == 42
    assert @document["_aws"]["Timestamp"] == 1_700_000_000_000
  end
end
