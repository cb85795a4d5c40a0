defmodule Shop.Repo.IamAuth do
  @moduledoc """
  IAM database authentication: a fresh RDS auth token as the password of every new connection.

  The Repo config names `{Shop.Repo.IamAuth, :configure, [[region: region]]}` as DBConnection's
  `:configure` callback, which DBConnection calls before each connection attempt with the
  connection options first. A token is valid for 15 minutes and is only checked at login, so
  open connections live on and a reconnect an hour later simply gets a new token. Nothing to
  rotate, nothing that breaks when RDS rotates the master password.

  The token is signed with the task role's credentials (ExAws's credential chain); the task role
  may `rds-db:connect` as exactly this database user. RDS accepts tokens only over TLS.
  """

  @doc """
  Returns `opts` with `:password` set to a token for `opts[:hostname]`, `opts[:port]` (default
  5432) and `opts[:username]`.

  `iam_opts`: `:region` (required) and `:token` (default `&ExAws.RDS.generate_db_auth_token/4`,
  called as `token.(hostname, username, port, %{region: region})`; tests pass their own).
  """
  @spec configure(keyword, keyword) :: keyword
  def configure(opts, iam_opts) do
    region = Keyword.fetch!(iam_opts, :region)
    token = Keyword.get(iam_opts, :token, &ExAws.RDS.generate_db_auth_token/4)
    hostname = Keyword.fetch!(opts, :hostname)
    username = Keyword.fetch!(opts, :username)
    port = Keyword.get(opts, :port, 5432)

    Keyword.put(opts, :password, token.(hostname, username, port, %{region: region}))
  end
end
