defmodule ShopWeb.HealthPlug do
  @moduledoc """
  `GET /health` → 200, `application/json`, `{"status":"ok","slot":…,"version":…}` (see
  `Shop.Health`); every other request passes through.
  """
  import Plug.Conn

  def init(opts), do: opts

  def call(%Plug.Conn{method: method, request_path: "/health"} = conn, _opts)
      when method in ["GET", "HEAD"] do
    body = Shop.Health.report(Application.get_env(:shop, :release, []))

    conn
    |> put_resp_content_type("application/json")
    |> send_resp(200, Jason.encode_to_iodata!(body))
    |> halt()
  end

  def call(conn, _opts), do: conn
end
