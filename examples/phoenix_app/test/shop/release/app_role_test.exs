defmodule Shop.Release.AppRoleTest do
  use ExUnit.Case, async: true

  alias Shop.Release.AppRole

  test "the role name comes from DATABASE_APP_USER" do
    assert AppRole.user!(app_user: "shop_app") == "shop_app"
  end

  test "without DATABASE_APP_USER the migration stops and says why" do
    for config <- [nil, [], [app_user: nil], [app_user: ""]] do
      error = assert_raise RuntimeError, fn -> AppRole.user!(config) end
      assert error.message =~ "DATABASE_APP_USER is not set"
    end
  end

  test "a role name that is not a plain lower-case identifier is refused" do
    for bad <- [
          "Shop",
          "1shop",
          "shop-app",
          ~s(x"; DROP TABLE messages; --),
          String.duplicate("a", 64)
        ] do
      error = assert_raise RuntimeError, fn -> AppRole.user!(app_user: bad) end
      assert error.message =~ "DATABASE_APP_USER must be a lower-case PostgreSQL name"
    end
  end

  test "the role logs in through rds_iam and has no password" do
    [create, grant_iam | _] = AppRole.statements("shop_app", "app")
    assert create =~ ~s(CREATE ROLE "shop_app" LOGIN;)
    refute create =~ "PASSWORD"
    assert grant_iam == ~s(GRANT rds_iam TO "shop_app")
  end

  test "the role may change rows, never the schema" do
    sql = Enum.join(AppRole.statements("shop_app", "app"), "\n")

    assert sql =~
             ~s(GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "shop_app")

    assert sql =~
             "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES"

    refute sql =~ ~r/GRANT (ALL|CREATE)/
    assert sql =~ "REVOKE CREATE ON SCHEMA public FROM PUBLIC"
  end

  test "names are quoted, so a database name with a quote cannot break out" do
    sql = Enum.join(AppRole.statements("shop_app", ~s(we"ird)), "\n")
    assert sql =~ ~s(GRANT CONNECT ON DATABASE "we""ird" TO "shop_app")
  end
end
