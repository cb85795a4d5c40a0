defmodule Shop.Drain.ECS do
  @moduledoc """
  What `Shop.Drain.Stops` asks ECS: this task's identity (the task metadata endpoint v4, which
  ECS serves to every container at `ECS_CONTAINER_METADATA_URI_V4`) and the desired status of
  the slot's tasks (DescribeTasks, AWS JSON 1.1, signed by ExAws with the task role, which may
  describe exactly the tasks of this cluster).

  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
  """

  @doc "`{:ok, %{cluster: arn, task_arn: arn}}` of this task, or `{:error, reason}`."
  @spec whoami(String.t()) :: {:ok, %{cluster: String.t(), task_arn: String.t()}} | {:error, term}
  def whoami(metadata_uri) do
    with {:ok, %{status: 200, body: body}} <-
           Req.get(metadata_uri <> "/task", retry: :transient, max_retries: 2),
         {:ok, %{"Cluster" => cluster, "TaskARN" => arn}} <- decoded(body) do
      {:ok, %{cluster: cluster, task_arn: arn}}
    else

      {:ok, %{status: status}} -> {:error, "task metadata answered #{status}"}
      {:ok, other} -> {:error, "unexpected task metadata: #{inspect(other)}"}
      {:error, reason} -> {:error, reason}
    end
  end

  # Req decodes a JSON body when the response says it is JSON; otherwise it is a string.
  defp decoded(body) when is_binary(body), do: Jason.decode(body)
  defp decoded(body), do: {:ok, body}

  @doc """
  `{:ok, %{task_arn => desired_status}}` of `task_arns`, or `{:error, reason}`: one DescribeTasks
  call per 100 tasks (its limit). Tasks ECS no longer knows are left out.
  """
  @spec desired_statuses(String.t(), [String.t()]) :: {:ok, map} | {:error, term}
  def desired_statuses(cluster, task_arns) do
    task_arns
    |> Enum.chunk_every(100)
    |> Enum.reduce_while({:ok, %{}}, fn chunk, {:ok, found} ->
      case describe_tasks(cluster, chunk) do
        {:ok, statuses} -> {:cont, {:ok, Map.merge(found, statuses)}}
        error -> {:halt, error}
      end
    end)
  end

  defp describe_tasks(cluster, task_arns) do
    operation =
      ExAws.Operation.JSON.new(:ecs,
        data: %{"cluster" => cluster, "tasks" => task_arns},
        headers: [
          {"x-amz-target", "AmazonEC2ContainerServiceV20141113.DescribeTasks"},
          {"content-type", "application/x-amz-json-1.1"}
        ]
      )

    # Few, short retries: the next poll comes 10 s later anyway.
    retries = [max_attempts: 2, base_backoff_in_ms: 100, max_backoff_in_ms: 1_000]

    case ExAws.request(operation, retries: retries) do
      {:ok, %{"tasks" => tasks}} ->
        {:ok, Map.new(tasks, &{&1["taskArn"], &1["desiredStatus"]})}

      {:ok, other} ->
        {:error, "unexpected DescribeTasks response: #{inspect(other)}"}

      {:error, reason} ->
        {:error, reason}
    end
  end
end
