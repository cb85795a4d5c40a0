defmodule ShopWeb.Endpoint do
  use Phoenix.Endpoint, otp_app: :shop

  @session_options [store: :cookie, key: "_shop_key", signing_salt: "rotate-me", same_site: "Lax"]

  # On SIGTERM the drainer closes sockets in batches, so clients reconnect (to the other slot or
  # the remaining nodes) in waves instead of all at once. ECS allows stopTimeout = 120 s between
  # SIGTERM and SIGKILL; the drain must finish well inside it: 90 s here.
  socket "/live", Phoenix.LiveView.Socket,
    websocket: [connect_info: [session: @session_options], timeout: 45_000],
    longpoll: [connect_info: [session: @session_options]],
    drainer: [batch_size: 200, batch_interval: 1_000, shutdown: 90_000]

  socket "/socket", ShopWeb.UserSocket,
    websocket: [timeout: 45_000],
    drainer: [batch_size: 200, batch_interval: 1_000, shutdown: 90_000]

  # The load balancer's health check: answered before the router, no DB call (shallow).
  plug ShopWeb.HealthPlug

  plug Plug.RequestId
  plug Plug.Telemetry, event_prefix: [:phoenix, :endpoint]
  plug Plug.Parsers, parsers: [:urlencoded, :multipart, :json], json_decoder: Phoenix.json_library()
  plug Plug.MethodOverride
  plug Plug.Head
  plug Plug.Session, @session_options
  plug ShopWeb.Router
end
