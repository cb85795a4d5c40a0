defmodule ShopWeb.Endpoint do
  use Phoenix.Endpoint, otp_app: :shop

  @session_options [store: :cookie, key: "_shop_key", signing_salt: "vJ4kQx2m", same_site: "Lax"]

  # One socket for the channel and for LiveView (ShopWeb.UserSocket is a LiveView socket), on
  # WebSockets only: the load balancer passes them, and the drain counts their transports.
  #
  # The drainer is the last resort at SIGTERM. On ECS the sockets of a stopping task are shed
  # before that (Shop.Drain.Shedder, during the slot's drain) or cut by the load balancer at
  # the end of the deregistration delay, so few are left. Its time comes from the task's
  # stopTimeout (Shop.Shutdown, evaluated at boot).
  socket "/live", ShopWeb.UserSocket,
    websocket: [connect_info: [session: @session_options]],
    longpoll: false,
    drainer: {Shop.Shutdown, :socket_drainer, []}

  # The load balancer's health check and the release smoke test: before everything else, so it
  # costs no session, parsing or logging.
  plug ShopWeb.HealthPlug

  # No asset pipeline: the page's scripts are the Phoenix client the phoenix package ships and
  # the reconnect options every socket of the page passes it (priv/static/js).
  plug Plug.Static,
    at: "/vendor/phoenix",
    from: {:phoenix, "priv/static"},
    only: ~w(phoenix.min.js)

  plug Plug.Static,
    at: "/js",
    from: {:shop, "priv/static/js"},
    only: ~w(phoenix_aws_reconnect.js)

  plug Plug.RequestId
  plug Plug.Telemetry, event_prefix: [:phoenix, :endpoint]

  plug Plug.Parsers,
    parsers: [:urlencoded, :multipart, :json],
    pass: ["*/*"],
    json_decoder: Phoenix.json_library()

  plug Plug.MethodOverride
  plug Plug.Head
  plug Plug.Session, @session_options
  plug ShopWeb.Router
end
