import Config

config :shop, ecto_repos: [Shop.Repo]

config :shop, ShopWeb.Endpoint,
  adapter: Bandit.PhoenixAdapter,
  pubsub_server: Shop.PubSub,
  live_view: [signing_salt: "change-me"]

config :logger, :console, format: "$time $metadata[$level] $message\n", metadata: [:request_id]
config :phoenix, :json_library, Jason

import_config "#{config_env()}.exs"
