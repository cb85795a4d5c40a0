defmodule Shop.Health do
  @moduledoc """
  The body of `GET /health`: `{"status": "ok", "slot": RELEASE_SLOT, "version": RELEASE_VERSION}`.
  The release command's smoke test reads slot and version to know which slot answered.
  Shallow on purpose (no database call): a database outage must not make the load balancer
  take every node out of service at once.
  """

  @doc "The report for the `:release` config (`slot`, `version`)."
  @spec report(keyword) :: %{String.t() => String.t() | nil}
  def report(release) do
    %{"status" => "ok", "slot" => release[:slot], "version" => release[:version]}
  end
end
