defmodule Shop.Drain.Parameter do
  @moduledoc """
  The value of a slot's drain parameter (SSM, String, JSON), written by phoenix-aws from the
  stack file's `release.<slot>.draining` and `release.drain_window_seconds`:

  - `{"shed": false}`: serve as usual;
  - `{"shed": true, "window_seconds": W}`: close this node's WebSockets in waves over W seconds.

  Members it does not know are ignored, so phoenix-aws may add some later.
  """

  @max_window 86_400

  @type mode :: :serve | {:shed, pos_integer}

  @doc "Interprets the decoded JSON value; `{:error, message}` says what is wrong with it."
  @spec interpret(term) :: {:ok, mode} | {:error, String.t()}
  def interpret(%{"shed" => false}), do: {:ok, :serve}

  def interpret(%{"shed" => true, "window_seconds" => window})
      when is_integer(window) and window in 1..@max_window,
      do: {:ok, {:shed, window}}

  def interpret(%{"shed" => true} = value) do
    {:error,
     "window_seconds must be a whole number of seconds from 1 to #{@max_window} when shed is " <>
       "true, got #{inspect(Map.get(value, "window_seconds"))}"}
  end

  def interpret(value) do
    {:error,
     ~s(expected {"shed": false} or {"shed": true, "window_seconds": <seconds>}, got ) <>
       inspect(value)}
  end
end
