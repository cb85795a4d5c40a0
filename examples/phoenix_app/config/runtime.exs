# config/runtime.exs — read at every boot, never at build time. In production every value comes
# from the environment phoenix-aws's task definition provides (the README's twelve-factor
# contract); Shop.Env stops the boot with a message naming any variable that is missing.
import Config

if System.get_env("PHX_SERVER") == "true" do
  config :shop, ShopWeb.Endpoint, server: true
end

if config_env() == :prod do
  alias Shop.Env

  # --- endpoint ---------------------------------------------------------------------------
  # The public address the load balancer serves: plain HTTP on a stack without a domain (dev),
  # HTTPS otherwise. TLS ends at the load balancer; the app listens on plain HTTP inside the VPC.
  # SIGTERM → SIGKILL: the socket drainer and the HTTP server share what the BEAM can spare.
  shutdown = Shop.Shutdown.budget(Env.integer!("STOP_TIMEOUT_SECONDS", 2..120))
  config :shop, :shutdown, shutdown

  # The load balancer's idle timeout: the HTTP server keeps idle connections open longer, so
  # the load balancer never reuses one the app has closed (Shop.Drain.Timing).
  idle_timeout_s = Env.integer!("LOAD_BALANCER_IDLE_TIMEOUT_SECONDS", 1..4000)
  keepalive_ms = Shop.Drain.Timing.keepalive_ms(idle_timeout_s)

  host = Env.fetch!("PHX_HOST")
  scheme = Env.one_of!("PHX_SCHEME", ["http", "https"])
  public_port = Env.port!("PHX_URL_PORT")

  config :shop, ShopWeb.Endpoint,
    url: [scheme: scheme, host: host, port: public_port],
    http: [
      ip: {0, 0, 0, 0, 0, 0, 0, 0},
      port: Env.port!("PORT"),
      # At SIGTERM, open HTTP requests get this long after the socket drainer has run; an idle
      # keep-alive connection stays open longer than the load balancer's idle timeout.
      thousand_island_options: [
        shutdown_timeout: shutdown[:http_drain_ms],
        read_timeout: keepalive_ms
      ]
    ],
    # Browsers send the page's origin; sockets are accepted only from the public address
    # (the default port is left out, as browsers leave it out).
    check_origin: [URI.to_string(%URI{scheme: scheme, host: host, port: public_port})],
    secret_key_base: Env.fetch!("SECRET_KEY_BASE")

  # --- AWS (IAM database tokens, the drain parameter) -------------------------------------
  region = Env.fetch!("AWS_REGION")
  config :ex_aws, region: region

  # --- database ---------------------------------------------------------------------------
  # The service task logs in as the app's own role with a fresh IAM token per connection
  # (DATABASE_AUTH=iam), so nothing breaks when RDS rotates the master password. The one-off
  # migration task logs in with the master credentials (DATABASE_AUTH=password) to create and
  # grant that role and run the migrations.
  db_host = Env.fetch!("DATABASE_HOST")
  db_auth = Env.one_of!("DATABASE_AUTH", ["iam", "password"])
  db_ssl? = Env.boolean!("DATABASE_SSL")

  if db_auth == "iam" and not db_ssl? do
    raise "DATABASE_AUTH is iam but DATABASE_SSL is false: RDS accepts IAM tokens only over TLS"
  end

  # RDS certificates chain to Amazon's RDS root CAs, which are not in the system trust store:
  # the Dockerfile puts AWS's bundle here. The RDS parameter group sets rds.force_ssl=1.
  db_ssl =
    db_ssl? &&
      [
        verify: :verify_peer,
        cacertfile: "/etc/ssl/certs/rds-global-bundle.pem",
        server_name_indication: String.to_charlist(db_host),
        customize_hostname_check: [match_fun: :public_key.pkix_verify_hostname_match_fun(:https)]
      ]

  db_credentials =
    case db_auth do
      # DBConnection calls the MFA before every connection attempt (with the pool options
      # prepended to the arguments); it puts a 15-minute token in :password.
      "iam" -> [configure: {Shop.Repo.IamAuth, :configure, [[region: region]]}]
      "password" -> [password: Env.fetch!("DATABASE_PASSWORD", "DATABASE_AUTH is password")]
    end

  config :shop,
         Shop.Repo,
         [
           hostname: db_host,
           port: Env.port!("DATABASE_PORT"),
           database: Env.fetch!("DATABASE_NAME"),
           username: Env.fetch!("DATABASE_USERNAME"),
           ssl: db_ssl,
           pool_size: Env.integer("POOL_SIZE", 10, 1..500)
         ] ++ db_credentials

  # Only the migration task gets it: the role Shop.Release.migrate/0 creates and grants.
  config :shop, Shop.Release, app_user: Env.get("DATABASE_APP_USER", nil)

  # --- clustering and PubSub --------------------------------------------------------------
  # DNS_CLUSTER_QUERY resolves (Cloud Map, A records) to every running node; dns_cluster
  # connects them with the cookie and port range the task definition sets.
  config :shop, :dns_cluster_query, Env.fetch!("DNS_CLUSTER_QUERY")

  pubsub =
    case Env.one_of!("PUBSUB_ADAPTER", ["erlang", "redis"]) do
      # Phoenix.PubSub's default adapter: broadcasts travel over Erlang distribution.
      "erlang" ->
        []

      # rediss:// with the AUTH token (an ECS secret); Redix verifies the server certificate.
      "redis" ->
        [
          adapter: Phoenix.PubSub.Redis,
          redis_opts: Env.fetch!("REDIS_URL", "PUBSUB_ADAPTER is redis")
        ]
    end

  config :shop, :pubsub, pubsub

  # --- release identity, drain and metrics ------------------------------------------------
  slot = Env.one_of!("RELEASE_SLOT", ["blue", "green"])
  config :shop, :release, slot: slot, version: Env.fetch!("RELEASE_VERSION")

  # The slot's SSM parameter: {"shed": true, "window_seconds": W} makes this node close its
  # WebSockets in waves over W seconds (see Shop.Drain.Shedder). When ECS stops this task on its
  # own, the node sheds within the load balancer's deregistration delay (Shop.Drain.Stops); ECS
  # gives every container its task metadata endpoint, absent anywhere else.
  poll_s = Env.integer!("DRAIN_POLL_SECONDS", 1..300)
  deregistration_delay_s = Env.integer!("DEREGISTRATION_DELAY_SECONDS", 0..3600)

  config :shop, :drain,
    parameter: Env.fetch!("DRAIN_PARAMETER"),
    poll_ms: poll_s * 1000,
    slot: slot,
    stop_window_seconds: Shop.Drain.Timing.stop_window(deregistration_delay_s, poll_s),
    task_metadata_uri: Env.get("ECS_CONTAINER_METADATA_URI_V4", nil)

  # One CloudWatch Embedded Metric Format line per minute: WebSockets by Stack and Slot.
  config :shop, :metrics, stack: Env.fetch!("PHOENIX_AWS_STACK"), slot: slot
end
