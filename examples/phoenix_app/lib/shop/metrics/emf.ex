defmodule Shop.Metrics.EMF do
  @moduledoc """
  CloudWatch Embedded Metric Format documents. Written to stdout as one JSON line, they reach
  CloudWatch Logs through awslogs, and CloudWatch extracts the metric from them: no agent and
  no PutMetricData permission needed.
  """

  @namespace "PhoenixAws"

  @doc """
  The node's open WebSockets: metric `WebSockets` (Count) in namespace `PhoenixAws`, with the
  dimension set `[Stack, Slot]` (`Stack` = `PHOENIX_AWS_STACK`, `Slot` = `RELEASE_SLOT`), so the
  sum over a slot's nodes says how many sockets the slot still holds.
  """
  @spec web_sockets(non_neg_integer, String.t(), String.t(), integer) :: map
  def web_sockets(count, stack, slot, timestamp_ms) do
    %{
      "_aws" => %{
        "Timestamp" => timestamp_ms,
        "CloudWatchMetrics" => [
          %{
            "Namespace" => @namespace,
            "Dimensions" => [["Stack", "Slot"]],
            "Metrics" => [%{"Name" => "WebSockets", "Unit" => "Count"}]
          }
        ]
      },
      "Stack" => stack,
      "Slot" => slot,
      "WebSockets" => count
    }
  end
end
