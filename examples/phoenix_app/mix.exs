defmodule Shop.MixProject do
  use Mix.Project

  def project do
    [
      app: :shop,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: deps(),
      # `mix release` renders rel/env.sh.eex into the release (the node name comes from there).
      releases: [shop: [include_executables_for: [:unix]]]
    ]
  end

  def application do
    [mod: {Shop.Application, []}, extra_applications: [:logger, :runtime_tools]]
  end

  # No asset pipeline: the one page loads phoenix.min.js from the phoenix package's own
  # priv/static (see ShopWeb.Endpoint), so there is no esbuild, tailwind or node step.
  defp deps do
    [
      # The drain closes sockets with Phoenix's own drain message (Shop.Drain.Sockets), which
      # Phoenix handles from 1.7.2 through 1.8: a new minor is allowed once verified.
      {:phoenix, "~> 1.7.14 or ~> 1.8.0"},
      # Only for its socket: ShopWeb.UserSocket is a LiveView socket that also serves a channel.
      {:phoenix_live_view, "~> 1.0"},
      {:bandit, "~> 1.5"},
      {:jason, "~> 1.4"},
      {:ecto_sql, "~> 3.12"},
      {:postgrex, "~> 0.19"},
      {:dns_cluster, "~> 0.2"},
      {:phoenix_pubsub_redis, "~> 3.1"},
      # IAM database auth tokens (ExAws.RDS.generate_db_auth_token/4) and the drain parameter
      # (SSM GetParameter); Req is the HTTP client ExAws uses here (config :ex_aws, http_client).
      {:ex_aws, "~> 2.6"},
      {:ex_aws_rds, "~> 2.0"},
      {:req, "~> 0.5.10"}
    ]
  end
end
