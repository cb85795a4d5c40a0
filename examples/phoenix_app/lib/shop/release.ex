defmodule Shop.Release do
  @moduledoc """
  One-off release tasks, run by phoenix-aws's migration gate as
  `bin/shop eval "Shop.Release.migrate()"` in a separate ECS task with the new image, before the
  listener moves traffic. A non-zero exit stops the release.

  Blue-green keeps the old version running while the new one migrates, so every migration must
  be backward compatible: expand first (add nullable columns, new tables), deploy code that uses
  them, and contract (drop, rename, add NOT NULL) only in a later release.
  """
  @app :shop

  def migrate do
    load_app()

    for repo <- repos() do
      {:ok, _, _} = Ecto.Migrator.with_repo(repo, &Ecto.Migrator.run(&1, :up, all: true))
    end
  end

  def rollback(repo, version) do
    load_app()
    {:ok, _, _} = Ecto.Migrator.with_repo(repo, &Ecto.Migrator.run(&1, :down, to: version))
  end

  defp repos, do: Application.fetch_env!(@app, :ecto_repos)

  defp load_app do
    # Boot what migrations need (SSL for the TLS-only database) without starting the endpoint.
    Application.ensure_all_started(:ssl)
    Application.ensure_loaded(@app)
  end
end
