# `mix test`: the tests in test/ exercise the pure modules and need no database or server.
import Config

config :shop, Shop.Repo,
  hostname: "localhost",
  username: "postgres",
  password: "postgres",
  database: "shop_test",
  pool_size: 2

config :shop, ShopWeb.Endpoint,
  http: [ip: {127, 0, 0, 1}, port: 4002],
  server: false,
  secret_key_base: String.duplicate("test-only-secret-key-base ", 4)

config :shop, :release, slot: "test", version: "test"
config :logger, level: :warning
