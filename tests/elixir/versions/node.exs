# One BEAM node of one release, in a cluster of two (driven by tests/test_elixir_cluster_versions.py):
#
#   elixir --name <me> --cookie <cookie> -pa <the release's Compat.Lobby> node.exs <peer or ""> <role>
#
# Each node runs a lobby subscriber in the process group `:lobby` (scope :compat), as Phoenix's
# default PubSub adapter keeps its subscribers per node in `:pg` and sends a broadcast to every
# member. The "first" node waits; the "second" connects to its peer (when given: the same
# discovery), both broadcast one message of their release to every member they see, every
# subscriber reports what it made of each message, and the second prints one line per report:
# node <TAB> its release <TAB> the message's sender <TAB> read|crashed <TAB> what it read or why.
[peer, role] = System.argv()
{:ok, _} = :pg.start_link(:compat)
me = node()

_subscriber =
  spawn(fn ->
    :ok = :pg.join(:compat, :lobby, self())

    loop = fn loop ->
      receive do
        {:lobby, from, message, collector} ->
          outcome =
            try do
              ["read", inspect(Compat.Lobby.read(message))]
            rescue
              error -> ["crashed", Exception.format_banner(:error, error) |> String.replace("\n", " ")]
            end

          send({:collector, collector}, [Atom.to_string(me), Compat.Lobby.version(), from | outcome])
          loop.(loop)
      end
    end

    loop.(loop)
  end)

# Every subscriber reports to the collector (on the second node) what it made of the message.
broadcast = fn collector ->
  message = {:lobby, "#{me} #{Compat.Lobby.version()}", Compat.Lobby.message("hello"), collector}
  for member <- :pg.get_members(:compat, :lobby), do: send(member, message)
end

wait = fn wait, condition, tries ->
  cond do
    condition.() -> :ok
    tries == 0 -> raise "timed out"
    true -> Process.sleep(20) && wait.(wait, condition, tries - 1)
  end
end

case {role, peer} do
  {"first", _} ->
    Process.register(self(), :node_main)
    IO.puts("ready")

    receive do
      {:broadcast, collector} -> broadcast.(collector)
    end

    receive do
      :halt -> System.halt(0)
    end

  {"second", peer} ->
    Process.register(self(), :collector)
    members = if peer == "", do: 1, else: 2

    if peer != "" do
      true = Node.connect(String.to_atom(peer))
    end

    wait.(wait, fn -> length(:pg.get_members(:compat, :lobby)) == members end, 250)
    if peer != "", do: send({:node_main, String.to_atom(peer)}, {:broadcast, me})
    broadcast.(me)

    reports =
      for _ <- 1..(members * members) do
        receive do
          report -> report
        after
          5_000 -> ["?", "?", "?", "missing", "no report within 5 s"]
        end
      end

    if peer != "", do: send({:node_main, String.to_atom(peer)}, :halt)
    Enum.each(reports, &IO.puts(Enum.join(&1, "\t")))
end
