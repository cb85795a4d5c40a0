defmodule Shop.Env do
  @moduledoc """
  Reads the environment that phoenix-aws's task definition gives the app (the README's
  twelve-factor contract). config/runtime.exs calls it at boot, so a missing or malformed
  variable stops the release before anything starts, with a message that names the variable
  and says what is expected. Values of secrets are never repeated in a message: only
  `one_of!/2` and the number readers quote what they got, and they are never used for secrets.

  Depends on nothing but Elixir itself, so runtime.exs can call it before any application runs.
  """

  @doc """
  The value of `name`. Raises when it is unset or empty; `why` (optional) says which setting
  needs it, e.g. `"PUBSUB_ADAPTER is redis"`.
  """
  @spec fetch!(String.t(), String.t() | nil) :: String.t()
  def fetch!(name, why \\ nil) do
    case System.get_env(name) do
      value when value in [nil, ""] -> raise missing(name, why)
      value -> value
    end
  end

  @doc "The value of `name`, or `default` when it is unset or empty."
  @spec get(String.t(), default) :: String.t() | default when default: term
  def get(name, default) do
    case System.get_env(name) do
      value when value in [nil, ""] -> default
      value -> value
    end
  end

  @doc "The value of `name`, which must be one of `allowed`."
  @spec one_of!(String.t(), [String.t(), ...]) :: String.t()
  def one_of!(name, allowed) do
    value = fetch!(name)

    if value in allowed do
      value
    else
      raise "#{name} must be #{alternatives(allowed)}, got #{inspect(value)}"
    end
  end

  @doc ~S(`true` for "true", `false` for "false"; anything else raises.)
  @spec boolean!(String.t()) :: boolean
  def boolean!(name), do: one_of!(name, ["true", "false"]) == "true"

  @doc "A TCP port number (1-65535)."
  @spec port!(String.t()) :: pos_integer
  def port!(name), do: integer!(name, 1..65_535)

  @doc "A whole number within `range`."
  @spec integer!(String.t(), Range.t()) :: integer
  def integer!(name, range), do: parse_integer(name, fetch!(name), range)

  @doc "A whole number within `range`, or `default` when the variable is unset or empty."
  @spec integer(String.t(), integer, Range.t()) :: integer
  def integer(name, default, range) do
    case get(name, nil) do
      nil -> default
      value -> parse_integer(name, value, range)
    end
  end

  defp parse_integer(name, value, range) do
    case Integer.parse(value) do
      {number, ""} -> if number in range, do: number, else: out_of_range(name, value, range)
      _ -> out_of_range(name, value, range)
    end
  end

  defp out_of_range(name, value, range) do
    raise "#{name} must be a whole number from #{range.first} to #{range.last}, " <>
            "got #{inspect(value)}"
  end

  defp missing(name, nil) do
    "#{name} is not set. phoenix-aws sets it in the task definition; " <>
      "set it yourself when you run the release anywhere else"
  end

  defp missing(name, why), do: "#{name} is not set, and it is needed because #{why}"

  defp alternatives([only]), do: inspect(only)

  defp alternatives(allowed) do
    {init, [last]} = Enum.split(allowed, -1)
    Enum.map_join(init, ", ", &inspect/1) <> " or " <> inspect(last)
  end
end
