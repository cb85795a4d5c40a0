defmodule Shop.EnvTest do
  # Changes the process environment, so not async.
  use ExUnit.Case, async: false

  @name "SHOP_ENV_TEST_VARIABLE"

  setup do
    System.delete_env(@name)
    on_exit(fn -> System.delete_env(@name) end)
  end

  test "a missing variable stops boot with a message that names it" do
    error = assert_raise RuntimeError, fn -> Shop.Env.fetch!(@name) end
    assert error.message =~ "#{@name} is not set"
    assert error.message =~ "task definition"
  end

  test "an empty variable counts as missing" do
    System.put_env(@name, "")
    assert_raise RuntimeError, ~r/#{@name} is not set/, fn -> Shop.Env.fetch!(@name) end
  end

  test "a variable needed only by some setting says which setting needs it" do
    error = assert_raise RuntimeError, fn -> Shop.Env.fetch!(@name, "PUBSUB_ADAPTER is redis") end

    assert error.message ==
             "#{@name} is not set, and it is needed because PUBSUB_ADAPTER is redis"
  end

  test "a set variable is returned as it is" do
    System.put_env(@name, "shop.example.com")
    assert Shop.Env.fetch!(@name) == "shop.example.com"
  end

  test "a choice names the variable, what is allowed and what it got" do
    System.put_env(@name, "ftp")
    error = assert_raise RuntimeError, fn -> Shop.Env.one_of!(@name, ["http", "https"]) end
    assert error.message == ~s(#{@name} must be "http" or "https", got "ftp")
  end

  test "a port must be a whole number from 1 to 65535" do
    for bad <- ["0", "65536", "80a", "eighty", "-1"] do
      System.put_env(@name, bad)

      assert_raise RuntimeError,
                   ~s(#{@name} must be a whole number from 1 to 65535, got #{inspect(bad)}),
                   fn -> Shop.Env.port!(@name) end
    end

    System.put_env(@name, "443")
    assert Shop.Env.port!(@name) == 443
  end

  test "an optional number falls back to its default only when unset" do
    assert Shop.Env.integer(@name, 10, 1..500) == 10
    System.put_env(@name, "5")
    assert Shop.Env.integer(@name, 10, 1..500) == 5
    System.put_env(@name, "0")

    assert_raise RuntimeError, ~r/from 1 to 500, got "0"/, fn ->
      Shop.Env.integer(@name, 10, 1..500)
    end
  end

  test "a boolean is exactly true or false" do
    System.put_env(@name, "true")
    assert Shop.Env.boolean!(@name)
    System.put_env(@name, "false")
    refute Shop.Env.boolean!(@name)
    System.put_env(@name, "yes")

    assert_raise RuntimeError, ~r/must be "true" or "false", got "yes"/, fn ->
      Shop.Env.boolean!(@name)
    end
  end

  test "an optional text variable falls back to its default when unset or empty" do
    assert Shop.Env.get(@name, nil) == nil
    System.put_env(@name, "")
    assert Shop.Env.get(@name, "default") == "default"
    System.put_env(@name, "shop_app")
    assert Shop.Env.get(@name, nil) == "shop_app"
  end
end
