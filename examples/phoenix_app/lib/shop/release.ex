defmodule Shop.Release do
  @moduledoc """
  One-off release tasks. phoenix-aws's migration gate runs
  `bin/shop eval "Shop.Release.migrate()"` in a separate ECS task (the admin task definition:
  master credentials, `DATABASE_AUTH=password`, `DATABASE_APP_USER`) with the new image, before
  the listener moves traffic. A raised error exits non-zero and stops the release.

  Blue-green keeps the old version running while the new one migrates, so every migration must
  be backward compatible: expand first (add nullable columns, new tables), deploy code that uses
  them, and contract (drop, rename, add NOT NULL) only in a later release.
  """
  require Logger

  @app :shop

  @doc """
  Ensures the app's database (created on a shared instance) and its role (see
  `Shop.Release.AppRole`), then runs every pending migration, in one connection to each repo.
  """
  def migrate do
    load_app()
    app_user = Shop.Release.AppRole.user!(Application.get_env(@app, __MODULE__))

    for repo <- repos() do
      ensure_database(repo)

      {:ok, _, _} =
        Ecto.Migrator.with_repo(repo, fn repo ->
          ensure_app_role(repo, app_user)
          Ecto.Migrator.run(repo, :up, all: true)
        end)
    end

    :ok
  end

  @doc "Rolls `repo` back to migration `version` (e.g. `bin/shop eval 'Shop.Release.rollback(Shop.Repo, 20250101000000)'`)."
  def rollback(repo, version) do
    load_app()
    {:ok, _, _} = Ecto.Migrator.with_repo(repo, &Ecto.Migrator.run(&1, :down, to: version))
    :ok
  end

  @doc "Runs priv/repo/seeds.exs against the database (`bin/shop eval 'Shop.Release.seed()'`)."
  def seed do
    load_app()
    seeds = Application.app_dir(@app, "priv/repo/seeds.exs")

    for repo <- repos() do
      {:ok, _, _} = Ecto.Migrator.with_repo(repo, fn _repo -> Code.eval_file(seeds) end)
    end

    :ok
  end

  # An app on an instance it shares with other apps (phoenix-aws `existing_database`) gets a
  # database of its own: the migration task, logged in as the master user, creates it the first
  # time (as `mix ecto.create` does). RDS created the first app's database already.
  defp ensure_database(repo) do
    case repo.__adapter__().storage_up(repo.config()) do
      :ok -> Logger.info("created database #{Keyword.fetch!(repo.config(), :database)}")
      {:error, :already_up} -> :ok
      {:error, reason} -> raise "could not create the app's database: #{inspect(reason)}"
    end
  end

  defp ensure_app_role(repo, app_user) do
    database = Keyword.fetch!(repo.config(), :database)

    for statement <- Shop.Release.AppRole.statements(app_user, database) do
      repo.query!(statement)
    end

    Logger.info("database role #{app_user} exists and has its grants on #{database}")
  end

  defp repos, do: Application.fetch_env!(@app, :ecto_repos)

  defp load_app do
    # What migrations need (TLS to the database) without starting the endpoint or the cluster.
    Application.ensure_all_started(:ssl)
    Application.load(@app)
  end
end
