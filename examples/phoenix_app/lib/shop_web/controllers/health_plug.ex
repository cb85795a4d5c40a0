defmodule ShopWeb.HealthPlug do
  @moduledoc """
  `GET /health` → 200 "ok" with the slot and version. Shallow on purpose: a database outage must
  not make the load balancer take every node out of service at once.
  """
  import Plug.Conn

  def init(opts), do: opts

  def call(%Plug.Conn{request_path: "/health"} = conn, _opts) do
    release = Application.get_env(:shop, :release, [])

    conn
    |> put_resp_content_type("text/plain")
    |> send_resp(200, "ok #{release[:slot]} #{release[:version]}")
    |> halt()
  end

  def call(conn, _opts), do: conn
end
