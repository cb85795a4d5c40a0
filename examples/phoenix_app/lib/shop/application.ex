defmodule Shop.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children =
      [
        Shop.Repo,
        # Joins every node that DNS_CLUSTER_QUERY resolves to (both slots when discovery is
        # shared); without a query (a laptop) the node stays alone.
        {DNSCluster, query: Application.get_env(:shop, :dns_cluster_query) || :ignore},
        {Phoenix.PubSub, [name: Shop.PubSub] ++ Application.get_env(:shop, :pubsub, [])},
        # Before the endpoint: sockets register here when they connect.
        Shop.Drain.Sockets,
        ShopWeb.Endpoint
      ] ++ drain() ++ metrics()

    Supervisor.start_link(children, strategy: :one_for_one, name: Shop.Supervisor)
  end

  # After the endpoint, so they stop first at shutdown. Only where phoenix-aws configures them.
  defp drain do
    drain = Application.get_env(:shop, :drain, [])

    case drain[:parameter] do
      nil ->
        []

      parameter ->
        [
          {Shop.Drain.Shedder,
           name: Shop.Drain.Shedder,
           poll_ms: Keyword.get(drain, :poll_ms, 10_000),
           fetch: fn -> Shop.Drain.SSM.get_json(parameter) end,
           transports: &Shop.Drain.Sockets.list/0,
           # Closes with 1012, a code every phoenix.js reconnects from.
           disconnect: &Shop.Drain.Sockets.close/1}
        ] ++ stops(drain)
    end
  end

  # On ECS only (the task metadata endpoint): shed before ECS stops this task on its own.
  defp stops(drain) do
    case drain[:task_metadata_uri] do
      nil ->
        []

      metadata_uri ->
        whoami = fn -> Shop.Drain.ECS.whoami(metadata_uri) end

        [
          %{id: :pg, start: {:pg, :start_link, [Shop.Drain.Stops.scope()]}},
          {Shop.Drain.Stops,
           slot: drain[:slot],
           poll_ms: Keyword.get(drain, :poll_ms, 10_000),
           window_seconds: drain[:stop_window_seconds],
           task_arn: fn -> with {:ok, me} <- whoami.(), do: {:ok, me.task_arn} end,
           describe: fn arns ->
             with {:ok, me} <- whoami.(), do: Shop.Drain.ECS.desired_statuses(me.cluster, arns)
           end,
           stopping: &Shop.Drain.Shedder.shed_for_stop(Shop.Drain.Shedder, &1)}
        ]
    end
  end

  defp metrics do
    case Application.get_env(:shop, :metrics) do
      nil ->
        []

      config ->
        [
          {Shop.Metrics.SocketReporter,
           count: &Shop.Drain.Sockets.count/0, stack: config[:stack], slot: config[:slot]}
        ]
    end
  end
end
