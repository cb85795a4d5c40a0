# config/runtime.exs — read at boot, never at build time. Every value here comes from the
# environment or from ECS secrets that phoenix-aws maps into the task (see the README).
import Config

if System.get_env("PHX_SERVER") do
  config :shop, ShopWeb.Endpoint, server: true
end

if config_env() == :prod do
  # --- database ---------------------------------------------------------------------------
  # The RDS master password lives only in Secrets Manager (rotated by RDS); ECS injects its
  # username/password keys. Build the Repo config from parts, so rotation needs no redeploy.
  database_opts =
    case System.get_env("DATABASE_URL") do
      nil ->
        [
          username: System.fetch_env!("DATABASE_USERNAME"),
          password: System.fetch_env!("DATABASE_PASSWORD"),
          hostname: System.fetch_env!("DATABASE_HOST"),
          port: String.to_integer(System.get_env("DATABASE_PORT", "5432")),
          database: System.fetch_env!("DATABASE_NAME")
        ]

      url ->
        [url: url]
    end

  # The parameter group sets rds.force_ssl=1: the server refuses plain connections.
  ssl_opts =
    if System.get_env("DATABASE_SSL", "true") == "true" do
      [ssl: [verify: :verify_peer, cacerts: :public_key.cacerts_get(), server_name_indication: to_charlist(System.fetch_env!("DATABASE_HOST"))]]
    else
      []
    end

  config :shop, Shop.Repo,
    database_opts ++
      ssl_opts ++
      [pool_size: String.to_integer(System.get_env("POOL_SIZE", "10"))]

  # --- endpoint ---------------------------------------------------------------------------
  secret_key_base = System.fetch_env!("SECRET_KEY_BASE")
  host = System.fetch_env!("PHX_HOST")
  port = String.to_integer(System.get_env("PORT", "4000"))

  config :shop, ShopWeb.Endpoint,
    # TLS ends at the load balancer; links and redirects still say https.
    url: [host: host, port: 443, scheme: "https"],
    http: [ip: {0, 0, 0, 0, 0, 0, 0, 0}, port: port],
    # Sockets are accepted only from the public host the load balancer serves.
    check_origin: ["https://#{host}"],
    secret_key_base: secret_key_base

  # --- clustering -------------------------------------------------------------------------
  # DNS_CLUSTER_QUERY resolves (Cloud Map, A records) to every running node.
  config :shop, :dns_cluster_query, System.get_env("DNS_CLUSTER_QUERY")

  # --- PubSub -----------------------------------------------------------------------------
  # With pubsub: redis, phoenix-aws injects REDIS_URL (rediss://, AUTH token) as a secret.
  pubsub =
    case System.get_env("REDIS_URL") do
      nil ->
        [name: Shop.PubSub]

      url ->
        [name: Shop.PubSub, adapter: Phoenix.PubSub.Redis, url: url, node_name: node()]
    end

  config :shop, :pubsub, pubsub

  config :shop, :release, slot: System.get_env("RELEASE_SLOT"), version: System.get_env("RELEASE_VERSION")

  if dsn = System.get_env("SENTRY_DSN") do
    config :sentry, dsn: dsn, environment_name: :prod
  end
end
