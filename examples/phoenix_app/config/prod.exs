import Config

# Logs go to stdout; awslogs ships them to CloudWatch. Everything else is read at boot in
# config/runtime.exs.
config :logger, level: :info
config :shop, ShopWeb.Endpoint, cache_static_manifest: "priv/static/cache_manifest.json"
