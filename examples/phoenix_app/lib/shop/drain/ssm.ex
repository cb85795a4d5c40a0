defmodule Shop.Drain.SSM do
  @moduledoc """
  Reads the slot's drain parameter with SSM GetParameter (AWS JSON 1.1 protocol, signed by
  ExAws with the task role, which may read exactly this parameter).
  """

  @doc "`{:ok, decoded_json}` of the parameter's value, or `{:error, reason}`."
  @spec get_json(String.t()) :: {:ok, term} | {:error, String.t()}
  def get_json(name) do
    operation =
      ExAws.Operation.JSON.new(:ssm,
        data: %{"Name" => name},
        headers: [
          {"x-amz-target", "AmazonSSM.GetParameter"},
          {"content-type", "application/x-amz-json-1.1"}
        ]
      )

    # Few, short retries: the next poll comes 10 s later anyway.
    retries = [max_attempts: 2, base_backoff_in_ms: 100, max_backoff_in_ms: 1_000]

    with {:ok, %{"Parameter" => %{"Value" => value}}} <-
           ExAws.request(operation, retries: retries),
         {:ok, decoded} <- Jason.decode(value) do
      {:ok, decoded}
    else
      {:error, %Jason.DecodeError{}} -> {:error, "the value of #{name} is not JSON"}
      {:error, reason} -> {:error, "GetParameter #{name} failed: #{inspect(reason)}"}
      other -> {:error, "unexpected GetParameter response: #{inspect(other)}"}
    end
  end
end
