defmodule Shop.Repo.IamAuthTest do
  use ExUnit.Case, async: true

  alias Shop.Repo.IamAuth

  @opts [
    hostname: "db.abc.eu-west-1.rds.amazonaws.com",
    port: 5432,
    username: "shop_app",
    database: "app"
  ]

  defp recording_token(test) do
    fn host, user, port, config ->
      send(test, {:token_for, host, user, port, config})
      "token-#{System.unique_integer([:positive])}"
    end
  end

  test "the token for this host, port and user goes into :password" do
    opts = IamAuth.configure(@opts, region: "eu-west-1", token: recording_token(self()))

    assert_receive {:token_for, "db.abc.eu-west-1.rds.amazonaws.com", "shop_app", 5432,
                    %{region: "eu-west-1"}}

    assert "token-" <> _ = opts[:password]
  end

  test "every other connection option is kept" do
    opts = IamAuth.configure(@opts, region: "eu-west-1", token: fn _, _, _, _ -> "t" end)
    assert Keyword.delete(opts, :password) == @opts
  end

  test "each connection attempt gets a fresh token" do
    token = recording_token(self())
    first = IamAuth.configure(@opts, region: "eu-west-1", token: token)[:password]
    second = IamAuth.configure(@opts, region: "eu-west-1", token: token)[:password]
    assert first != second
  end

  test "without a port the PostgreSQL default is signed" do
    IamAuth.configure(Keyword.delete(@opts, :port),
      region: "us-east-1",
      token: recording_token(self())
    )

    assert_receive {:token_for, _, _, 5432, %{region: "us-east-1"}}
  end

  test "a token from an earlier connection is replaced, never reused" do
    opts = Keyword.put(@opts, :password, "expired")

    assert IamAuth.configure(opts, region: "eu-west-1", token: fn _, _, _, _ -> "new" end)[
             :password
           ] == "new"
  end
end
