# Build-time configuration, the same for every deploy. Anything that differs between stacks
# (hosts, credentials, the slot) is read at boot in config/runtime.exs.
import Config

config :shop, ecto_repos: [Shop.Repo]

config :shop, ShopWeb.Endpoint,
  adapter: Bandit.PhoenixAdapter,
  pubsub_server: Shop.PubSub,
  render_errors: [formats: [json: ShopWeb.ErrorJSON], layout: false],
  # Signs LiveView session tokens (the socket at /live serves LiveViews too).
  live_view: [signing_salt: "Zq3tV8pL"]

config :logger, :console, format: "$time $metadata[$level] $message\n", metadata: [:request_id]
config :phoenix, :json_library, Jason

# AWS credentials come from the ECS task role (ExAws's :instance_role reads the container
# credentials endpoint), or from the usual variables on a laptop. The session token has to be
# listed too, or role credentials are sent without it. The region is set in runtime.exs.
config :ex_aws,
  http_client: ExAws.Request.Req,
  json_codec: Jason,
  access_key_id: [{:system, "AWS_ACCESS_KEY_ID"}, :instance_role],
  secret_access_key: [{:system, "AWS_SECRET_ACCESS_KEY"}, :instance_role],
  security_token: [{:system, "AWS_SESSION_TOKEN"}, :instance_role]

import_config "#{config_env()}.exs"
