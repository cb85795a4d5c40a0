defmodule Shop.Release.AppRole do
  @moduledoc """
  The SQL that gives the app its own least-privilege database role, run by the migration task
  (logged in as the RDS master user) before the migrations.

  Every statement is idempotent, so it runs on every release. The role:
  - logs in only with IAM tokens (member of `rds_iam`, no password);
  - may connect to the database and use schema `public`; no other role may connect to it
    (`CONNECT` is taken from `PUBLIC`, which PostgreSQL grants it by default), so apps that share
    one instance (phoenix-aws `existing_database`) never reach each other's database;
  - may read and write rows of every table and use every sequence, including tables the
    migration user creates later (`ALTER DEFAULT PRIVILEGES` for that user);
  - may not create, alter or drop tables: schema changes are the migrations' job
    (`CREATE` on schema `public` is also taken from `PUBLIC`, which PostgreSQL before 15 grants).
  """

  @role_name ~r/\A[a-z_][a-z0-9_]{0,62}\z/

  @doc """
  The app role's name, from the `Shop.Release` config (`DATABASE_APP_USER`); raises with a plain
  message when it is missing or not a safe PostgreSQL identifier.
  """
  @spec user!(keyword | nil) :: String.t()
  def user!(config) do
    case config && config[:app_user] do
      user when user in [nil, ""] ->
        raise "DATABASE_APP_USER is not set: the migration task creates and grants the app's " <>
                "database role under that name (phoenix-aws sets it in the admin task definition)"

      user ->
        if Regex.match?(@role_name, user) do
          user
        else
          raise "DATABASE_APP_USER must be a lower-case PostgreSQL name (letters, digits, _; " <>
                  "at most 63 characters, not starting with a digit), got #{inspect(user)}"
        end
    end
  end

  @doc "The statements, in order, that create `user` if needed and grant it its rights on `database`."
  @spec statements(String.t(), String.t()) :: [String.t()]
  def statements(user, database) do
    role = quote_identifier(user)
    db = quote_identifier(database)

    [
      """
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = #{quote_literal(user)}) THEN
          CREATE ROLE #{role} LOGIN;
        END IF;
      END
      $$
      """,
      "GRANT rds_iam TO #{role}",
      "GRANT CONNECT ON DATABASE #{db} TO #{role}",
      "REVOKE CONNECT ON DATABASE #{db} FROM PUBLIC",
      "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
      "GRANT USAGE ON SCHEMA public TO #{role}",
      "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO #{role}",
      "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO #{role}",
      # Tables and sequences the migration user (the role running this) creates from now on.
      "ALTER DEFAULT PRIVILEGES IN SCHEMA public " <>
        "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO #{role}",
      "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO #{role}"
    ]
  end

  defp quote_identifier(name), do: ~s(") <> String.replace(name, ~s("), ~s("")) <> ~s(")
  defp quote_literal(value), do: "'" <> String.replace(value, "'", "''") <> "'"
end
