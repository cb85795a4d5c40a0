# `mix phx.server` on a laptop: a local PostgreSQL with a password, one node, no AWS.
import Config

config :shop, Shop.Repo,
  hostname: "localhost",
  username: "postgres",
  password: "postgres",
  database: "shop_dev",
  pool_size: 5

config :shop, ShopWeb.Endpoint,
  http: [ip: {127, 0, 0, 1}, port: 4000],
  check_origin: false,
  secret_key_base: String.duplicate("dev-only-secret-key-base ", 4)

config :shop, :release, slot: "dev", version: "dev"
config :logger, :console, format: "[$level] $message\n"
