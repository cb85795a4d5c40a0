defmodule Shop.Drain.Stops do
  @moduledoc """
  Sheds a node's WebSockets gradually when ECS stops its task on its own: Service Auto Scaling
  scaling in, a deployment replacing tasks, Availability Zone rebalancing, a task replaced after
  failed health checks, a Fargate retirement or a `StopTask`.

  When ECS decides to stop a service task behind a load balancer it sets the task's desired
  status to `STOPPED` and, while the task still runs (`DEACTIVATING`), deregisters it from the
  target group: the load balancer sends it no new connections, keeps the open ones for the
  deregistration delay, closes what is still open when the delay ends, and only then does ECS
  send SIGTERM. (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html,
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay)
  The node that learns this in time closes its sockets itself, with a code clients reconnect
  from, within a window that ends before the delay does (`Shop.Drain.Shedder.shed_for_stop/2`);
  the deregistration then completes early, as it does for a target without connections.

  One node per slot asks ECS: the nodes of a slot join a process group (`:pg`, scope
  `#{inspect(__MODULE__)}`, group `{:drain_stops, slot}`), and the member on the lowest node name
  is the leader. Every `:poll_ms` the leader describes its members' tasks (one DescribeTasks call
  for up to 100 tasks, however many nodes) and tells each member whose task ECS is stopping
  `{:phoenix_aws_stopping, window_seconds}`. That message, the question
  `{:phoenix_aws_whoami, from}` with its answer `{:phoenix_aws_task, pid, task_arn}`, and the
  group name are the protocol between versions (see the cluster policy in docs/app-contract.md):
  they only ever gain new variants.

  Options:
  - `:slot` (required): `"blue"` or `"green"`;
  - `:task_arn` (required): a function returning this task's ARN (the task metadata);
  - `:describe` (required): a function of a list of task ARNs returning
    `{:ok, %{arn => desired_status}}` or `{:error, reason}` (ECS DescribeTasks);
  - `:stopping` (required): a function of the window, called once when ECS stops this task;
  - `:window_seconds` (required): how long a stopping node takes to shed its sockets;
  - `:poll_ms` (default 10_000), `:name` (optional).
  """
  use GenServer
  require Logger

  @scope __MODULE__

  def start_link(opts), do: GenServer.start_link(__MODULE__, opts, Keyword.take(opts, [:name]))

  @doc "The process group scope; start `{:pg, scope}` once per node, before any `Stops`."
  def scope, do: @scope

  @doc """
  The leader among `members` (pids of one group): the one on the lowest node name, so every
  member that sees the same group picks the same leader without talking.
  """
  @spec leader([pid]) :: pid | nil
  def leader([]), do: nil
  def leader(members), do: Enum.min_by(members, &{node(&1), &1})

  @doc "Members of `describe`'s answer that ECS is stopping: their desired status is STOPPED."
  @spec stopping(%{String.t() => pid}, %{String.t() => String.t()}) :: [pid]
  def stopping(members_by_arn, desired_by_arn) do
    for {arn, pid} <- members_by_arn, Map.get(desired_by_arn, arn) == "STOPPED", do: pid
  end

  @impl true
  def init(opts) do
    slot = Keyword.fetch!(opts, :slot)
    :ok = :pg.join(@scope, {:drain_stops, slot}, self())

    state = %{
      group: {:drain_stops, slot},
      task_arn: Keyword.fetch!(opts, :task_arn),
      describe: Keyword.fetch!(opts, :describe),
      stopping: Keyword.fetch!(opts, :stopping),
      window: Keyword.fetch!(opts, :window_seconds),
      poll_ms: Keyword.get(opts, :poll_ms, 10_000),
      own_arn: nil,
      # pid → task ARN of the members this node asked, and the pids it already told.
      arns: %{},
      told: MapSet.new(),
      stopped: false
    }

    send(self(), :poll)
    {:ok, state}
  end

  @impl true
  def handle_info(:poll, state) do
    Process.send_after(self(), :poll, state.poll_ms)
    state = own_arn(state)

    if leader(:pg.get_members(@scope, state.group)) == self() do
      {:noreply, lead(state)}
    else
      {:noreply, state}
    end
  end

  def handle_info({:phoenix_aws_stopping, window}, %{stopped: false} = state) do
    state.stopping.(min(window, state.window))
    {:noreply, %{state | stopped: true}}
  end

  def handle_info({:phoenix_aws_whoami, from}, state) do
    state = own_arn(state)
    if state.own_arn, do: send(from, {:phoenix_aws_task, self(), state.own_arn})
    {:noreply, state}
  end

  # An answer that came after the leader stopped waiting: kept for its next round.
  def handle_info({:phoenix_aws_task, pid, arn}, state) when is_pid(pid) and is_binary(arn),
    do: {:noreply, %{state | arns: Map.put(state.arns, pid, arn)}}

  def handle_info(_message, state), do: {:noreply, state}

  defp own_arn(%{own_arn: nil} = state) do
    case safely(state.task_arn) do
      {:ok, arn} when is_binary(arn) -> %{state | own_arn: arn}
      other -> log_once(state, "drain: this task's ARN is unknown (#{inspect(other)})")
    end
  end

  defp own_arn(state), do: state

  # The leader's round: learn the ARNs of members it has not asked yet, describe every member's
  # task at once, tell the ones ECS is stopping (each once).
  defp lead(state) do
    members = :pg.get_members(@scope, state.group)
    known = if state.own_arn, do: Map.put(state.arns, self(), state.own_arn), else: state.arns
    state = %{state | arns: Map.take(ask_arns(members, known), members)}
    by_arn = Map.new(state.arns, fn {pid, arn} -> {arn, pid} end)

    case by_arn != %{} && safely(fn -> state.describe.(Map.keys(by_arn)) end) do
      {:ok, desired} ->
        told =
          for pid <- stopping(by_arn, desired), not MapSet.member?(state.told, pid), into: state.told do
            send(pid, {:phoenix_aws_stopping, state.window})
            pid
          end

        %{state | told: MapSet.intersection(told, MapSet.new(members))}

      false ->
        state

      {:error, reason} ->
        log_once(state, "drain: could not describe this slot's tasks: #{inspect(reason)}")
    end
  end

  defp ask_arns(members, known) do
    unknown = Enum.reject(members, &(Map.has_key?(known, &1) or &1 == self()))
    Enum.each(unknown, &send(&1, {:phoenix_aws_whoami, self()}))
    collect_arns(known, length(unknown), System.monotonic_time(:millisecond) + 2_000)
  end

  defp collect_arns(known, 0, _deadline), do: known

  defp collect_arns(known, left, deadline) do
    wait = max(deadline - System.monotonic_time(:millisecond), 0)

    receive do
      {:phoenix_aws_task, pid, arn} -> collect_arns(Map.put(known, pid, arn), left - 1, deadline)
    after
      wait -> known
    end
  end

  # A problem that lasts (missing rights, no metadata) is logged when it starts, not every poll.
  defp log_once(state, message) do
    if Map.get(state, :logged) != message, do: Logger.warning(message)
    Map.put(state, :logged, message)
  end

  defp safely(fun) do
    fun.()
  rescue
    error -> {:error, Exception.message(error)}
  catch
    kind, reason -> {:error, Exception.format_banner(kind, reason)}
  end
end
